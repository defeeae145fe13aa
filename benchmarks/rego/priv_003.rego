# IIS-PRIV-003: a dangerous (or "Potato") privilege granted to a broad principal.
package iisguard.priv_003

import rego.v1

import data.iisguard.common

privileges := {
	"SeTcbPrivilege", "SeDebugPrivilege", "SeLoadDriverPrivilege", "SeBackupPrivilege", "SeRestorePrivilege",
	"SeTakeOwnershipPrivilege", "SeCreateTokenPrivilege", "SeManageVolumePrivilege", "SeSecurityPrivilege",
	"SeEnableDelegationPrivilege", "SeRelabelPrivilege", "SeTrustedCredManAccessPrivilege",
	"SeImpersonatePrivilege", "SeAssignPrimaryTokenPrivilege",
}

holder_key(h) := upper(trim_left(h, "*")) if startswith(upper(trim_left(h, "*")), "S-1-")
else := common.well_known[lower(h)] if common.well_known[lower(h)]
else := concat("", ["name:", lower(h)])

deny contains resource if {
	some right, holders in input.user_rights
	right in privileges
	some holder in holders
	common.broad(holder_key(holder))
	resource := sprintf("user_rights/%s/%s", [right, holder])
}
