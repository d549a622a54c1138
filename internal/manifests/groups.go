package manifests

import (
	"fmt"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// TargetID is the group id a target names without a lookup: its groupID,
// or policy.AllUsers; false when it names its group by display name.
func TargetID(t passkeysv1alpha1.AssignmentTarget) (string, bool) {
	switch {
	case t.GroupID != "":
		return t.GroupID, true
	case t.AllUsers != nil && *t.AllUsers:
		return policy.AllUsers, true
	}
	return "", false
}

// GroupByName picks the group a GroupAssignment's groupName means from the
// groups Graph found with that display name: exactly one, or a problem.
func GroupByName(groups []entra.Group, name, tenantID string) (string, *policy.Problem) {
	switch len(groups) {
	case 0:
		return "", &policy.Problem{Reason: policy.ReasonGroupNotFound, Message: fmt.Sprintf(
			"no group named %q in tenant %s; check spec.target.groupName or use spec.target.groupID", name, tenantID)}
	case 1:
		return groups[0].ID, nil
	default:
		return "", &policy.Problem{Reason: policy.ReasonGroupAmbiguous, Message: fmt.Sprintf(
			"%d groups are named %q in tenant %s; use spec.target.groupID to say which", len(groups), name, tenantID)}
	}
}
