// Package manifests turns a tenant's passkey policy into the resources
// that declare it (passkeyctl export) and reads such resources back from
// files (passkeyctl diff and validate). It knows the API types and the
// policy model; it does no I/O but reading the files it is given.
package manifests

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// ExportOptions say what to call the exported resources and how the
// EntraTenant reaches the tenant.
type ExportOptions struct {
	// TenantName is the EntraTenant's metadata.name, and every resource's
	// tenantRef.
	TenantName string
	// Namespace holds the PasskeyProfiles and GroupAssignments.
	Namespace string
	// Tenant is the EntraTenant's spec as far as the caller knows it:
	// tenantID, cloud, credentials. Method settings are taken from Entra.
	Tenant passkeysv1alpha1.EntraTenantSpec
	// GroupNames are the display names of the targeted groups, by id, for
	// comments; a group without one is commented with its id only.
	GroupNames map[string]string
	// AuthenticatorName names an authenticator model by AAGUID, for the
	// comment after each AAGUID ("" when not known); nil names none.
	AuthenticatorName func(aaguid string) string
}

// Object is one exported resource and the comment written above it.
type Object struct {
	Comment string
	Object  client.Object
	// ItemComments are comments written after list items, by the item's
	// value: an authenticator model's name after its AAGUID.
	ItemComments map[string]string
}

// Export declares everything the policy holds: the EntraTenant with the
// method settings, one PasskeyProfile per passkey profile and one
// GroupAssignment per include and exclude target. Applied as they are, the
// resources find Entra already holding what they declare: the profiles
// keep their Entra names (the operator adopts a profile by name) and the
// targets their group ids. What cannot be declared — targets of single
// users, values this version does not know — is left out, so it stays
// unmanaged and untouched, and a warning says so; the API server would
// refuse nothing the export writes.
func Export(p policy.Policy, opts ExportOptions) (objects []Object, warnings []string) {
	objects = append(objects, exportTenant(p, opts))
	names := newNamer()
	profileNames := map[string]string{} // lower-case Entra id → resource name
	for _, profile := range p.Profiles {
		if unknown := policy.UnknownValues(profile); len(unknown) > 0 {
			warnings = append(warnings, fmt.Sprintf("passkey profile %q (%s) holds %s, which this version cannot declare; it is left out and stays unmanaged",
				profile.Name, profile.ID, strings.Join(unknown, " and ")))
			continue
		}
		isDefault := strings.EqualFold(profile.ID, p.DefaultProfileID)
		name := profile.Name
		if isDefault {
			name = "default"
		}
		obj, notes := exportProfile(profile, isDefault, names.next(name, "profile"), opts)
		profileNames[strings.ToLower(profile.ID)] = obj.Name
		objects = append(objects, Object{
			Comment:      strings.Join(append([]string{fmt.Sprintf("Passkey profile %q (Entra id %s).", profile.Name, profile.ID)}, notes...), "\n"),
			Object:       obj,
			ItemComments: authenticatorNames(obj.Spec.KeyRestrictions, opts.AuthenticatorName),
		})
	}
	for _, list := range []struct {
		targets []policy.Target
		exclude bool
	}{{p.IncludeTargets, false}, {p.ExcludeTargets, true}} {
		for _, t := range list.targets {
			obj, comment, warning := exportTarget(t, list.exclude, names, profileNames, opts)
			if warning != "" {
				warnings = append(warnings, warning)
				continue
			}
			objects = append(objects, Object{Comment: comment, Object: obj})
		}
	}
	// Said in the stream too, so whoever reads the manifests later knows.
	for _, w := range warnings {
		objects[0].Comment += "\nNot exported: " + w + "."
	}
	return objects, warnings
}

func exportTenant(p policy.Policy, opts ExportOptions) Object {
	spec := opts.Tenant
	method := &passkeysv1alpha1.MethodSettings{SelfServiceRegistration: p.SelfServiceRegistration}
	switch strings.ToLower(p.State) {
	case policy.StateEnabled:
		method.State = passkeysv1alpha1.MethodEnabled
	case policy.StateDisabled:
		method.State = passkeysv1alpha1.MethodDisabled
	}
	if method.State != "" || method.SelfServiceRegistration != nil {
		spec.Method = method
	}
	tenant := &passkeysv1alpha1.EntraTenant{
		TypeMeta:   metav1.TypeMeta{APIVersion: passkeysv1alpha1.GroupVersion.String(), Kind: "EntraTenant"},
		ObjectMeta: metav1.ObjectMeta{Name: opts.TenantName},
		Spec:       spec,
	}
	comment := fmt.Sprintf("Tenant %s, exported by passkeyctl. management Merge (the default) touches only\n"+
		"what these resources declare; switch to Authoritative once everything lives in Git.", spec.TenantID)
	if ref := spec.Credentials.SecretRef; ref != nil {
		comment += fmt.Sprintf("\nCreate the Secret %s/%s with the credential under the key %q.", ref.Namespace, ref.Name, ref.Key)
	}
	return Object{Comment: comment, Object: tenant}
}

// authenticatorNames are the names of the AAGUIDs k lists, by AAGUID.
func authenticatorNames(k *passkeysv1alpha1.KeyRestrictions, name func(string) string) map[string]string {
	if k == nil || name == nil {
		return nil
	}
	names := map[string]string{}
	for _, id := range k.AAGUIDs {
		if n := name(id); n != "" {
			names[id] = n
		}
	}
	return names
}

// exportProfile declares p; notes say, for the comment, what the resource
// writes differently from what Entra lists.
func exportProfile(p policy.Profile, isDefault bool, name string, opts ExportOptions) (*passkeysv1alpha1.PasskeyProfile, []string) {
	spec := passkeysv1alpha1.PasskeyProfileSpec{
		TenantRef:   opts.TenantName,
		DisplayName: p.Name,
		Default:     isDefault,
		Attestation: passkeysv1alpha1.AttestationDisabled,
	}
	var notes []string
	if isDefault {
		// Entra's default profile cannot be renamed: it keeps Entra's name.
		spec.DisplayName = ""
	}
	for _, t := range p.PasskeyTypes {
		switch t {
		case policy.PasskeyDeviceBound:
			spec.PasskeyTypes = append(spec.PasskeyTypes, passkeysv1alpha1.PasskeyDeviceBound)
		case policy.PasskeySynced:
			spec.PasskeyTypes = append(spec.PasskeyTypes, passkeysv1alpha1.PasskeySynced)
		}
	}
	if strings.EqualFold(p.AttestationEnforcement, policy.AttestationRegistrationOnly) {
		spec.Attestation = passkeysv1alpha1.AttestationRegistrationOnly
	}
	if k := p.KeyRestrictions; k.IsEnforced {
		enforcement := passkeysv1alpha1.KeyEnforcementAllow
		if strings.EqualFold(k.EnforcementType, policy.EnforcementBlock) {
			enforcement = passkeysv1alpha1.KeyEnforcementBlock
		}
		aaguids, repeated := uniqueAAGUIDs(k.AAGUIDs)
		spec.KeyRestrictions = &passkeysv1alpha1.KeyRestrictions{Enforcement: enforcement, AAGUIDs: aaguids}
		for _, a := range repeated {
			notes = append(notes, fmt.Sprintf("Entra lists AAGUID %s more than once; it is declared once, which allows or blocks the same.", a))
		}
	}
	if spec.Attestation == passkeysv1alpha1.AttestationRegistrationOnly && slices.Contains(spec.PasskeyTypes, passkeysv1alpha1.PasskeySynced) {
		notes = append(notes, "Attestation is enforced with synced passkeys allowed, as Entra's migration left it: synced passkeys,\n"+
			"which carry no attestation, cannot be registered. The operator keeps this as Entra holds it.")
	}
	if isDefault {
		// Entra never deletes its default profile; say so in the resource.
		spec.DeletionPolicy = passkeysv1alpha1.DeletionPolicyOrphan
	}
	return &passkeysv1alpha1.PasskeyProfile{
		TypeMeta:   metav1.TypeMeta{APIVersion: passkeysv1alpha1.GroupVersion.String(), Kind: "PasskeyProfile"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: opts.Namespace},
		Spec:       spec,
	}, notes
}

// uniqueAAGUIDs drops repeats (any case), which Entra stores as sent but
// the API refuses, and returns the ones it dropped.
func uniqueAAGUIDs(in []string) (unique, repeated []string) {
	seen := map[string]bool{}
	for _, a := range in {
		key := strings.ToLower(a)
		if seen[key] {
			repeated = append(repeated, a)
			continue
		}
		seen[key] = true
		unique = append(unique, a)
	}
	return unique, repeated
}

func exportTarget(t policy.Target, exclude bool, names *namer, profileNames map[string]string, opts ExportOptions) (
	obj *passkeysv1alpha1.GroupAssignment, comment, warning string) {
	list := "include"
	if exclude {
		list = "exclude"
	}
	if strings.EqualFold(t.TargetType, policy.TargetTypeUser) {
		return nil, "", fmt.Sprintf("%s target %s is a single user, which a GroupAssignment cannot declare; it is left out", list, t.ID)
	}
	if !strings.EqualFold(t.TargetType, policy.TargetTypeGroup) {
		return nil, "", fmt.Sprintf("%s target %s has targetType %q, which this version cannot declare; it is left out and stays unmanaged", list, t.ID, t.TargetType)
	}
	for _, id := range t.AllowedPasskeyProfiles {
		if _, ok := profileNames[strings.ToLower(id)]; !ok && !exclude {
			return nil, "", fmt.Sprintf("%s target %s allows passkey profile %s, which is left out; so is the target, which stays unmanaged", list, t.ID, id)
		}
	}
	spec := passkeysv1alpha1.GroupAssignmentSpec{
		TenantRef:            opts.TenantName,
		RegistrationRequired: t.IsRegistrationRequired && !exclude,
	}
	var base string
	switch {
	case strings.EqualFold(t.ID, policy.AllUsers):
		yes := true
		spec.Target.AllUsers = &yes
		base, comment = "all-users", "All users"
	default:
		spec.Target.GroupID = t.ID
		displayName := opts.GroupNames[strings.ToLower(t.ID)]
		base, comment = displayName, fmt.Sprintf("Group %s", t.ID)
		if displayName != "" {
			comment = fmt.Sprintf("Group %q (%s)", displayName, t.ID)
		} else {
			base = "group-" + strings.Split(t.ID, "-")[0]
		}
	}
	if exclude {
		spec.Mode = passkeysv1alpha1.AssignmentExclude
		base, comment = "exclude-"+base, comment+", excluded from passkeys."
	} else {
		for _, id := range t.AllowedPasskeyProfiles {
			if name, ok := profileNames[strings.ToLower(id)]; ok {
				spec.Profiles = append(spec.Profiles, name)
			}
		}
		comment += ", allowed the profiles below."
	}
	return &passkeysv1alpha1.GroupAssignment{
		TypeMeta:   metav1.TypeMeta{APIVersion: passkeysv1alpha1.GroupVersion.String(), Kind: "GroupAssignment"},
		ObjectMeta: metav1.ObjectMeta{Name: names.next(base, "group"), Namespace: opts.Namespace},
		Spec:       spec,
	}, comment, ""
}

// namer makes unique Kubernetes names out of Entra names.
type namer struct{ taken map[string]bool }

func newNamer() *namer { return &namer{taken: map[string]bool{}} }

var notNameChars = regexp.MustCompile(`[^a-z0-9]+`)

// next turns s into a DNS-1123 name ("Synced passkeys for staff" →
// "synced-passkeys-for-staff"), fallback when nothing is left, with a
// number appended when taken.
func (n *namer) next(s, fallback string) string {
	base := strings.Trim(notNameChars.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(base) > 50 {
		base = strings.TrimRight(base[:50], "-")
	}
	if base == "" {
		base = fallback
	}
	name := base
	for i := 2; n.taken[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	n.taken[name] = true
	return name
}
