# Decision-log mask for the OPA sidecar: an OPA decision log must not become a second copy of
# who-sees-what-about-whom. The hub's access log already records every decision (with policy
# version and metadata); here we keep only enough to debug the sidecar.
package system.log

import rego.v1

# Case participants and regisseurs name partners and users.
mask contains "/input/case/participants"

mask contains "/input/case/procesregisseur"

mask contains "/input/case/casusregisseur"

mask contains "/input/viewer/user"

# Fact metadata per fact id, and the answers per fact id.
mask contains "/input/facts"

mask contains "/result"
