# IIS-ACL-003: content roots writable by broad principals (Everyone, Users, Authenticated Users, ...).
package iisguard.acl_003

import rego.v1

import data.iisguard.common

deny contains resource if {
	some acl in input.acls
	common.roots[common.path_key(acl.path)]
	some ace in acl.aces
	common.writes(ace)
	common.broad(common.ace_key(ace))
	resource := sprintf("acls/%s", [acl.path])
}
