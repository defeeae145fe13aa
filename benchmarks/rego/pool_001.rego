# IIS-POOL-001: app pool runs as LocalSystem (Exchange pools allowed, idle pools skipped).
package iisguard.pool_001

import rego.v1

allowed := ["msexchange*"]

deny contains resource if {
	some p in input.iis.app_pools
	object.get(p, ["identity", "type"], "ApplicationPoolIdentity") == "LocalSystem"
	not allowed_pool(p.name)
	not idle(p)
	resource := sprintf("app_pools/%s", [p.name])
}

allowed_pool(name) if {
	some g in allowed
	glob.match(g, null, lower(name))
}

idle(p) if {
	lower(object.get(p, "state", "")) == "stopped"
	p.auto_start == false
}
