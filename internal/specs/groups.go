package specs

import (
	"context"
	"fmt"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// Groups finds the groups a display name names: Graph itself, a cache in
// front of it, or, offline, a stand-in.
type Groups interface {
	GroupsByDisplayName(ctx context.Context, name string) ([]entra.Group, error)
}

// ResolveGroup returns the group id a target names: its groupID or all
// users as written, a display name through groups. A name that matches no
// group, or several, is a problem of the assignment, not an error.
func ResolveGroup(ctx context.Context, groups Groups, t passkeysv1alpha1.AssignmentTarget, tenantID string) (string, *policy.Problem, error) {
	if id, ok := TargetID(t); ok {
		return id, nil, nil
	}
	found, err := groups.GroupsByDisplayName(ctx, t.GroupName)
	if err != nil {
		return "", nil, fmt.Errorf("looking up group %q: %w", t.GroupName, err)
	}
	id, problem := GroupByName(found, t.GroupName, tenantID)
	return id, problem, nil
}

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
