# IIS-POOL-004: app pool uses a shared built-in identity (NetworkService / LocalService).
package iisguard.pool_004

import rego.v1

allowed := ["wsuspool", "sharepoint web services root"]

deny contains resource if {
	some p in input.iis.app_pools
	object.get(p, ["identity", "type"], "ApplicationPoolIdentity") in {"NetworkService", "LocalService"}
	not allowed_pool(p.name)
	resource := sprintf("app_pools/%s", [p.name])
}

allowed_pool(name) if {
	some g in allowed
	glob.match(g, null, lower(name))
}
