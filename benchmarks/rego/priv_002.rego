# IIS-PRIV-002: a dangerous privilege granted to an IIS principal (pool SIDs S-1-5-82-*, IIS_IUSRS,
# IUSR, pool accounts).
package iisguard.priv_002

import rego.v1

import data.iisguard.common

dangerous := {
	"SeTcbPrivilege", "SeDebugPrivilege", "SeLoadDriverPrivilege", "SeBackupPrivilege", "SeRestorePrivilege",
	"SeTakeOwnershipPrivilege", "SeCreateTokenPrivilege", "SeManageVolumePrivilege", "SeSecurityPrivilege",
	"SeEnableDelegationPrivilege", "SeRelabelPrivilege", "SeTrustedCredManAccessPrivilege",
}

pool_accounts contains lower(p.identity.user) if {
	some p in input.iis.app_pools
	p.identity.type == "SpecificUser"
	p.identity.user
}

iis(holder) if startswith(upper(trim_left(holder, "*")), "S-1-5-82-")

iis(holder) if upper(trim_left(holder, "*")) in {"S-1-5-32-568", "S-1-5-17"}

iis(holder) if lower(holder) in pool_accounts

deny contains resource if {
	some right, holders in input.user_rights
	right in dangerous
	some holder in holders
	iis(holder)
	resource := sprintf("user_rights/%s/%s", [right, holder])
}
