# IIS-POOL-006: an app pool serves more than one site.
package iisguard.pool_006

import rego.v1

allowed := ["msexchange*", "sharepoint*", "securitytokenserviceapplicationpool"]

sites_of[k] contains site.name if {
	some site in input.iis.sites
	some app in site.applications
	app.app_pool
	k := lower(app.app_pool)
}

deny contains resource if {
	some p in input.iis.app_pools
	count(sites_of[lower(p.name)]) > 1
	not allowed_pool(p.name)
	resource := sprintf("app_pools/%s", [p.name])
}

allowed_pool(name) if {
	some g in allowed
	glob.match(g, null, lower(name))
}
