# IIS-ACL-005: script and executable files below a content root writable by non-admins
# (the file's ACL, or its folder's ACEs that apply to the folder itself).
package iisguard.acl_005

import rego.v1

import data.iisguard.common

extensions := [".asp", ".aspx", ".ashx", ".asmx", ".asax", ".ascx", ".svc", ".cshtml", ".vbhtml", ".php", ".pl", ".cgi", ".exe", ".dll", ".config"]

script(key) if {
	some e in extensions
	endswith(key, e)
}

non_admin_write(ace) if {
	common.writes(ace)
	k := common.ace_key(ace)
	not k in common.admins
	k != "S-1-3-0"
}

# Folders with an ACE that lets a non-admin write the folder itself (few: a set of them is cheap).
bad_folders := {common.path_key(a.path) |
	some a in input.acls
	some ace in a.aces
	non_admin_write(ace)
	not "IO" in object.get(ace, "inheritance", [])
}

deny contains resource if {
	some acl in input.acls
	key := common.path_key(acl.path)
	script(key)
	not common.roots[key]
	parent := common.parent_key(key)
	common.under_root(parent)
	bad(acl, parent)
	resource := sprintf("acls/%s", [acl.path])
}

bad(acl, _) if {
	some ace in acl.aces
	non_admin_write(ace)
}

bad(_, parent) if parent in bad_folders
