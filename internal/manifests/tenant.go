package manifests

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// FromTenant reads the tenant's passkey policy through Graph and exports
// it. The targeted groups' display names are looked up for the comments;
// a lookup that fails only leaves the name out, with a warning. A 403 (the
// app lacks Group.Read.All, which export does not need otherwise) stops the
// lookups: every other one would be refused the same way.
func FromTenant(ctx context.Context, c *entra.Client, opts ExportOptions) ([]Object, []string, error) {
	cfg, err := c.GetFido2(ctx)
	if err != nil {
		return nil, nil, err
	}
	p := entra.ToPolicy(cfg)
	opts.GroupNames = map[string]string{}
	var warnings []string
	for _, t := range slices.Concat(p.IncludeTargets, p.ExcludeTargets) {
		if strings.EqualFold(t.ID, policy.AllUsers) || !strings.EqualFold(t.TargetType, policy.TargetTypeGroup) {
			continue
		}
		g, err := c.GroupByID(ctx, t.ID)
		if entra.Classify(err) == entra.ClassForbidden {
			warnings = append(warnings, fmt.Sprintf("the comments name the groups by id only: %v", err))
			break
		}
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("no display name for group %s: %v", t.ID, err))
			continue
		}
		opts.GroupNames[strings.ToLower(t.ID)] = g.DisplayName
	}
	objects, more := Export(p, opts)
	return objects, append(warnings, more...), nil
}
