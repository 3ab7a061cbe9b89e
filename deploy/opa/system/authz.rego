# Who may call the sidecar's REST API (OPA runs with --authorization=basic): querying the vhhub
# policy and the health endpoint. Nobody may push policies or data through the API; signed
# bundles are the only way in. Until this bundle has loaded, OPA denies every request, so the
# hub fails closed.
package system.authz

import rego.v1

default allow := false

allow if {
	input.method == "POST"
	array.slice(input.path, 0, 3) == ["v1", "data", "vhhub"]
}

allow if {
	input.method == "GET"
	input.path == ["health"]
}
