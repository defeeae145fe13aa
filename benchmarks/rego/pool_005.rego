# IIS-POOL-005: the same SpecificUser account runs several pools.
package iisguard.pool_005

import rego.v1

import data.iisguard.common

account_key(user) := common.sid_of(user) if common.sid_of(user)
else := concat("", ["name:", lower(user)])

pools_of[k] contains p.name if {
	some p in input.iis.app_pools
	p.identity.type == "SpecificUser"
	p.identity.user
	k := account_key(p.identity.user)
}

deny contains resource if {
	some p in input.iis.app_pools
	p.identity.type == "SpecificUser"
	count(pools_of[account_key(p.identity.user)]) > 1
	resource := sprintf("app_pools/%s", [p.name])
}
