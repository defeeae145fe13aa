# IIS-CRED-004: connect-as credentials stored on a virtual directory.
package iisguard.cred_004

import rego.v1

deny contains resource if {
	some site in input.iis.sites
	some app in site.applications
	some vdir in app.virtual_directories
	vdir.password.present == true
	resource := sprintf("virtual_directories/%s%s%s", [site.name, part(app.path), vdir_part(vdir.path)])
}

part(p) := "" if p in {"", "/"}
else := concat("", ["/", trim(p, "/")])

vdir_part(p) := "/" if p in {"", "/"}
else := concat("", ["/", trim(p, "/")])
