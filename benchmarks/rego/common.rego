# Helpers shared by the benchmark's Rego rules: path keys, principal keys, content roots.
package iisguard.common

import rego.v1

# A Windows path as a comparable key: iisguard's Snapshot.path_key without %VAR% expansion and
# without turning / into \ or dropping a trailing \ (the synthetic snapshots need neither, and
# regopy 1.5 mangles strings that replace() puts a backslash into).
path_key(p) := lower(p)

well_known := {
	"everyone": "S-1-1-0",
	"creator owner": "S-1-3-0",
	"nt authority\\anonymous logon": "S-1-5-7",
	"nt authority\\authenticated users": "S-1-5-11",
	"nt authority\\iusr": "S-1-5-17",
	"nt authority\\system": "S-1-5-18",
	"nt authority\\local service": "S-1-5-19",
	"nt authority\\network service": "S-1-5-20",
	"builtin\\administrators": "S-1-5-32-544",
	"builtin\\users": "S-1-5-32-545",
	"builtin\\guests": "S-1-5-32-546",
	"builtin\\iis_iusrs": "S-1-5-32-568",
	"nt service\\trustedinstaller": "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
}

# The SID of a principal of the snapshot, by name (a scan of the principals: regopy 1.5 takes
# seconds to build an object or set of a few thousand entries, see RESULTS.md).
sid_of(name) := sids[0] if {
	sids := [q.sid | some q in input.principals; q.sid; lower(q.name) == lower(name)]
	count(sids) > 0
}

# The ACE's principal as a key: its SID where the ACE or the well-known table gives one, else its
# name. (iisguard also resolves other names through the snapshot's principals; on the synthetic
# hosts none of those is broad or an administrator, so the outcome is the same.)
ace_key(ace) := ace.sid if ace.sid
else := well_known[lower(ace.principal)] if well_known[lower(ace.principal)]
else := concat("", ["name:", lower(ace.principal)])

write_class := {"F", "M", "W", "D", "DE", "DC", "WD", "AD", "WA", "WEA", "WDAC", "WO", "GA", "GW", "MA"}

writes(ace) if {
	object.get(ace, "type", "allow") == "allow"
	some r in ace.rights
	upper(trim_space(r)) in write_class
}

admins := {"S-1-5-18", "S-1-5-32-544", "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"}

broad_sids := {"S-1-1-0", "S-1-5-11", "S-1-5-32-545", "S-1-5-7", "S-1-5-32-546"}

broad(key) if key in broad_sids

broad(key) if {
	startswith(key, "S-1-5-21-")
	parts := split(key, "-")
	count(parts) == 8
	parts[7] in {"513", "514", "515"}
}

broad(key) if {
	startswith(key, "name:")
	parts := split(key, "\\")
	parts[count(parts) - 1] in {"domain users", "domain computers", "domain guests"}
}

# Every physical path of every virtual directory, keyed like ACLs.
roots := {path_key(p): p |
	some site in input.iis.sites
	some app in site.applications
	some vdir in app.virtual_directories
	p := object.get(vdir, "physical_path_expanded", vdir.physical_path)
}

parent_key(key) := concat("\\", array.slice(parts, 0, count(parts) - 1)) if {
	parts := split(key, "\\")
	count(parts) > 1
}

# The key itself and every folder above it.
ancestors(key) := {concat("\\", array.slice(parts, 0, i)) | parts := split(key, "\\"); some i in numbers.range(1, count(parts))}

under_root(key) if {
	some a in ancestors(key)
	roots[a]
}
