# IIS-POOL-010: manualGroupMembership=true.
package iisguard.pool_010

import rego.v1

deny contains resource if {
	some p in input.iis.app_pools
	p.manual_group_membership == true
	resource := sprintf("app_pools/%s", [p.name])
}
