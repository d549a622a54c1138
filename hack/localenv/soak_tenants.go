package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

// The soak's tenants: how each is set up, and what its chaos does to it —
// Graph faults, resource edits, portal edits — each drawn from the
// tenant's own random source, so that a seed replays every tenant's
// choices.

const (
	// groupsPerTenant leaves room for ten assignments and for moving them.
	groupsPerTenant = 14
	maxAssignments  = 10
	// maxOtherProfiles is how many profiles besides the default a tenant
	// can hold: Entra allows three in all.
	maxOtherProfiles = 2
)

// soakTenant is one tenant and what the soak did to it.
type soakTenant struct {
	index         int
	name          string // the EntraTenant's and its namespace's
	tenantID      string
	authoritative bool
	// calm tenants get no Graph faults (everything else, yes): their
	// minutes hold the tight budget for Graph calls all through the chaos.
	calm     bool
	groups   []emulator.Group
	groupIDs map[string]string // display name → id
	rng      *rand.Rand

	// The chaos loop's own (the final checks read faults once it is
	// over): when it next acts on the tenant, and when faults were on.
	nextEdit, nextPortal, nextFault time.Time
	faultOn                         bool
	faults                          []span
	serial                          int

	// Guarded by soak.mu: what the invariants need.
	portalItems []portalItem
	lost        map[string]bool // ids of portal items found missing
	dupsSeen    map[string]bool // duplicate names already reported
	everNames   map[string]bool // every Entra name a profile resource had
	everTargets map[string]bool // every target id an assignment had
	triggers    []time.Time     // resource edits and forced passes
	convergedAt time.Time
}

// next is a moment between lo and hi from now.
func (t *soakTenant) next(lo, hi time.Duration) time.Time {
	return time.Now().Add(lo + time.Duration(t.rng.Int64N(int64(hi-lo))))
}

// guid draws a lower-case GUID from r, so that ids replay with the seed.
func guid(r *rand.Rand) string {
	a, b := r.Uint64(), r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", a>>32, (a>>16)&0xffff, a&0xfff, b>>48&0xfff, b&0xffffffffffff)
}

// tenantView is a tenant's resources as the API server has them.
type tenantView struct {
	profiles    []passkeysv1alpha1.PasskeyProfile
	assignments []passkeysv1alpha1.GroupAssignment
}

func (k *soak) view(ctx context.Context, t *soakTenant) (tenantView, error) {
	var v tenantView
	var profiles passkeysv1alpha1.PasskeyProfileList
	var assignments passkeysv1alpha1.GroupAssignmentList
	if err := k.s.env.Client.List(ctx, &profiles, client.InNamespace(t.name)); err != nil {
		return v, err
	}
	if err := k.s.env.Client.List(ctx, &assignments, client.InNamespace(t.name)); err != nil {
		return v, err
	}
	v.profiles, v.assignments = profiles.Items, assignments.Items
	return v, nil
}

// liveProfiles are the profiles not being deleted: those an assignment may name.
func (v tenantView) liveProfiles() []passkeysv1alpha1.PasskeyProfile {
	return slices.DeleteFunc(slices.Clone(v.profiles), func(p passkeysv1alpha1.PasskeyProfile) bool { return p.DeletionTimestamp != nil })
}

func (v tenantView) liveAssignments() []passkeysv1alpha1.GroupAssignment {
	return slices.DeleteFunc(slices.Clone(v.assignments), func(a passkeysv1alpha1.GroupAssignment) bool { return a.DeletionTimestamp != nil })
}

// otherProfileNames are the names of non-default profiles that Entra holds
// or will hold: those in the document and those resources declare, being
// deleted or not. Creating one more is safe only while fewer than
// maxOtherProfiles.
func otherProfileNames(doc emulator.Fido2Document, v tenantView) map[string]bool {
	names := map[string]bool{}
	for _, p := range doc.PasskeyProfiles {
		if p.ID != doc.DefaultPasskeyProfile {
			names[p.Name] = true
		}
	}
	for _, p := range v.profiles {
		if !p.Spec.Default {
			names[entraProfileName(p)] = true
		}
	}
	return names
}

// usedTargets are the target ids of every assignment, deleted or not: a new
// target must be none of them, or two resources would claim it.
func (t *soakTenant) usedTargets(v tenantView) map[string]bool {
	used := map[string]bool{}
	for _, a := range v.assignments {
		used[t.targetID(a.Spec.Target)] = true
	}
	return used
}

func (t *soakTenant) targetID(target passkeysv1alpha1.AssignmentTarget) string {
	switch {
	case target.AllUsers != nil:
		return emulator.AllUsers
	case target.GroupName != "":
		return t.groupIDs[target.GroupName]
	}
	return strings.ToLower(target.GroupID)
}

// randomProfileSpec draws passkey types and attestation that Entra takes
// anew: attestation only with device-bound passkeys alone.
func (t *soakTenant) randomProfileSpec(spec *passkeysv1alpha1.PasskeyProfileSpec) {
	spec.Attestation = passkeysv1alpha1.AttestationDisabled
	switch t.rng.IntN(4) {
	case 0:
		spec.PasskeyTypes = []passkeysv1alpha1.PasskeyType{passkeysv1alpha1.PasskeyDeviceBound}
	case 1:
		spec.PasskeyTypes = []passkeysv1alpha1.PasskeyType{passkeysv1alpha1.PasskeyDeviceBound}
		spec.Attestation = passkeysv1alpha1.AttestationRegistrationOnly
	case 2:
		spec.PasskeyTypes = []passkeysv1alpha1.PasskeyType{passkeysv1alpha1.PasskeySynced}
	default:
		spec.PasskeyTypes = []passkeysv1alpha1.PasskeyType{passkeysv1alpha1.PasskeyDeviceBound, passkeysv1alpha1.PasskeySynced}
	}
}

// newProfile makes a profile resource; a non-default one has a display
// name or goes by its resource name.
func (k *soak) newProfile(t *soakTenant, isDefault bool) *passkeysv1alpha1.PasskeyProfile {
	t.serial++
	p := &passkeysv1alpha1.PasskeyProfile{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", t.serial), Namespace: t.name},
		Spec:       passkeysv1alpha1.PasskeyProfileSpec{TenantRef: t.name, Default: isDefault},
	}
	t.randomProfileSpec(&p.Spec)
	if !isDefault && t.rng.IntN(2) == 0 {
		p.Spec.DisplayName = fmt.Sprintf("Soak %s profile %d", t.name, t.serial)
	}
	if !isDefault {
		k.mu.Lock()
		t.everNames[entraProfileName(*p)] = true
		k.mu.Unlock()
	}
	return p
}

// randomProfiles names one to three of the profiles.
func (t *soakTenant) randomProfiles(profiles []passkeysv1alpha1.PasskeyProfile) []string {
	var names []string
	for _, p := range profiles {
		names = append(names, p.Name)
	}
	t.rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	n := 1 + t.rng.IntN(min(3, len(names)))
	out := names[:n]
	slices.Sort(out)
	return out
}

// freeTarget draws a target no assignment has: a group by id or by display
// name, now and then all users. ok is false when none is left.
func (k *soak) freeTarget(t *soakTenant, used map[string]bool, allowAllUsers bool) (passkeysv1alpha1.AssignmentTarget, bool) {
	if allowAllUsers && !used[emulator.AllUsers] && t.rng.IntN(10) == 0 {
		k.recordTarget(t, emulator.AllUsers)
		yes := true
		return passkeysv1alpha1.AssignmentTarget{AllUsers: &yes}, true
	}
	var free []emulator.Group
	for _, g := range t.groups {
		if !used[g.ID] {
			free = append(free, g)
		}
	}
	if len(free) == 0 {
		return passkeysv1alpha1.AssignmentTarget{}, false
	}
	g := free[t.rng.IntN(len(free))]
	k.recordTarget(t, g.ID)
	if t.rng.IntN(5) < 2 {
		return passkeysv1alpha1.AssignmentTarget{GroupName: g.DisplayName}, true
	}
	return passkeysv1alpha1.AssignmentTarget{GroupID: g.ID}, true
}

func (k *soak) recordTarget(t *soakTenant, id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t.everTargets[id] = true
}

// newAssignment makes an assignment of a free target, including it with
// some of the profiles or, now and then (always without profiles),
// excluding it. Nil when no target is free.
func (k *soak) newAssignment(t *soakTenant, v tenantView) *passkeysv1alpha1.GroupAssignment {
	profiles := v.liveProfiles()
	exclude := len(profiles) == 0 || t.rng.IntN(5) == 0
	target, ok := k.freeTarget(t, t.usedTargets(v), !exclude)
	if !ok {
		return nil
	}
	t.serial++
	a := &passkeysv1alpha1.GroupAssignment{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("a%d", t.serial), Namespace: t.name},
		Spec:       passkeysv1alpha1.GroupAssignmentSpec{TenantRef: t.name, Target: target, Mode: passkeysv1alpha1.AssignmentInclude},
	}
	setMode(t, &a.Spec, exclude, profiles)
	return a
}

// setMode makes an assignment exclude its target, or include it with
// some of the profiles.
func setMode(t *soakTenant, spec *passkeysv1alpha1.GroupAssignmentSpec, exclude bool, profiles []passkeysv1alpha1.PasskeyProfile) {
	if exclude {
		spec.Mode, spec.Profiles, spec.RegistrationRequired = passkeysv1alpha1.AssignmentExclude, nil, false
		return
	}
	spec.Mode = passkeysv1alpha1.AssignmentInclude
	spec.Profiles = t.randomProfiles(profiles)
	spec.RegistrationRequired = t.rng.IntN(3) == 0
}

// setUp creates every tenant — in the emulator with its groups, and its
// namespace, Secret, EntraTenant, one to three profiles and up to ten
// assignments — then waits until all are Ready.
func (k *soak) setUp(ctx context.Context) error {
	for i := range k.opts.tenants {
		t := &soakTenant{
			index: i, name: fmt.Sprintf("soak-%02d", i),
			// Every fifth tenant is Authoritative and every seventh calm,
			// so that some are at any count.
			authoritative: i%5 == 1,
			calm:          i%7 == 3,
			rng:           rand.New(rand.NewPCG(k.opts.seed, uint64(i)+1)),
			groupIDs:      map[string]string{}, lost: map[string]bool{}, dupsSeen: map[string]bool{},
			everNames: map[string]bool{}, everTargets: map[string]bool{},
		}
		t.tenantID = guid(t.rng)
		for g := range groupsPerTenant {
			group := emulator.Group{ID: guid(t.rng), DisplayName: fmt.Sprintf("Soak group %d", g)}
			t.groups = append(t.groups, group)
			t.groupIDs[group.DisplayName] = group.ID
		}
		if err := k.s.seedTenant(t.tenantID, t.groups); err != nil {
			return err
		}
		objects := k.initialObjects(t)
		for _, obj := range objects {
			if err := k.s.env.Client.Create(ctx, obj); err != nil {
				return fmt.Errorf("creating %T %s/%s: %w", obj, obj.GetNamespace(), obj.GetName(), err)
			}
			k.logf(t, "created: %s", describe(t, obj))
		}
		k.tenants = append(k.tenants, t)
		k.rep.resources += len(objects) - 3 // not the namespace, Secret and EntraTenant
		if t.authoritative {
			k.rep.authoritative++
		}
		if t.calm {
			k.rep.calm++
		}
	}
	return k.waitSetUpReady(ctx)
}

// initialObjects makes a tenant's namespace, Secret, EntraTenant, one to
// three profiles and up to ten assignments.
func (k *soak) initialObjects(t *soakTenant) []client.Object {
	management := passkeysv1alpha1.ManagementMerge
	if t.authoritative {
		management = passkeysv1alpha1.ManagementAuthoritative
	}
	tenant := &passkeysv1alpha1.EntraTenant{
		ObjectMeta: metav1.ObjectMeta{Name: t.name},
		Spec: passkeysv1alpha1.EntraTenantSpec{TenantID: t.tenantID, Management: management,
			ResyncInterval: &metav1.Duration{Duration: k.opts.resync}},
	}
	k.s.pointAtEmulator(tenant)
	tenant.Spec.Credentials.SecretRef.Namespace = t.name
	objects := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: t.name}},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: credentialsSecret, Namespace: t.name},
			Data:       map[string][]byte{credentialsKey: []byte(k.s.clientSecret)},
		},
		tenant,
	}
	// One to three profiles; with three, one must be the default, since
	// Entra holds three in all.
	var v tenantView
	n := 1 + t.rng.IntN(3)
	withDefault := n == 3 || t.rng.IntN(10) < 7
	for i := range n {
		p := k.newProfile(t, withDefault && i == 0)
		v.profiles = append(v.profiles, *p)
		objects = append(objects, p)
	}
	for range t.rng.IntN(maxAssignments + 1) {
		a := k.newAssignment(t, v)
		if a == nil {
			break
		}
		v.assignments = append(v.assignments, *a)
		objects = append(objects, a)
	}
	return objects
}

func (k *soak) waitSetUpReady(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		statuses, err := k.s.listStatuses(ctx)
		if err != nil {
			return err
		}
		var waiting []string
		for _, r := range statuses {
			if ready, text := r.summary(); !ready {
				waiting = append(waiting, r.ref+": "+text)
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d resources not Ready 5 minutes after the setup, e.g. %s", len(waiting), waiting[0])
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// The Graph faults a tenant goes through, by the name the report gives them.
var faultKinds = []string{"429", "429 without Retry-After", "503", "503 without Retry-After", "dropped connections", "2s latency"}

// toggleFault switches the tenant's faults on (one kind, at a random
// ratio, for 10–30s) or off (for 5–30s).
func (k *soak) toggleFault(t *soakTenant) error {
	path := "/_emulator/tenants/" + t.tenantID + "/fault"
	if t.faultOn {
		t.faultOn, t.nextFault = false, t.next(5*time.Second, 30*time.Second)
		t.faults[len(t.faults)-1].to = time.Now()
		k.logf(t, "faults off")
		_, _, err := k.admin.call(http.MethodDelete, path, nil, nil, http.StatusNoContent)
		return err
	}
	kind := faultKinds[t.rng.IntN(len(faultKinds))]
	ratio := 0.3 + 0.4*t.rng.Float64()
	var f emulator.Fault
	switch kind {
	case "429":
		f = emulator.Fault{ThrottleRatio: ratio, RetryAfterSeconds: 1 + t.rng.IntN(2)}
	case "429 without Retry-After":
		f = emulator.Fault{ThrottleRatio: ratio, OmitRetryAfter: true}
	case "503":
		f = emulator.Fault{UnavailableRatio: ratio, RetryAfterSeconds: 1}
	case "503 without Retry-After":
		f = emulator.Fault{UnavailableRatio: ratio, OmitRetryAfter: true}
	case "dropped connections":
		f = emulator.Fault{DropRatio: ratio}
	default:
		f = emulator.Fault{LatencyMS: 2000}
	}
	t.faultOn, t.nextFault = true, t.next(10*time.Second, 30*time.Second)
	// Open until switched off; the end of the chaos closes it at the latest.
	t.faults = append(t.faults, span{from: time.Now(), to: time.Now().Add(time.Hour)})
	if _, _, err := k.admin.call(http.MethodPut, path, nil, f, http.StatusNoContent); err != nil {
		return err
	}
	k.count(k.rep.faultWindows, kind)
	k.logf(t, "faults on: %s %+v", kind, f)
	return nil
}

// editResources makes one change to the tenant's resources, of a kind
// drawn among those its state allows. An API server that is down (it is
// restarted now and then) only costs the edit.
func (k *soak) editResources(ctx context.Context, t *soakTenant) error {
	v, err := k.view(ctx, t)
	if err != nil {
		k.editFailed()
		return nil
	}
	policy, err := k.admin.snapshot(t.tenantID)
	if err != nil {
		return err
	}
	profiles, assignments := v.liveProfiles(), v.liveAssignments()
	var others, unused []passkeysv1alpha1.PasskeyProfile
	named := map[string]bool{}
	for _, a := range v.assignments {
		for _, p := range a.Spec.Profiles {
			named[p] = true
		}
	}
	for _, p := range profiles {
		if !p.Spec.Default {
			others = append(others, p)
			if !named[p.Name] {
				unused = append(unused, p)
			}
		}
	}
	var grouped []passkeysv1alpha1.GroupAssignment
	for _, a := range assignments {
		if a.Spec.Target.AllUsers == nil {
			grouped = append(grouped, a)
		}
	}
	kinds := []string{"forced pass"}
	if len(otherProfileNames(policy.doc, v)) < maxOtherProfiles {
		kinds = append(kinds, "profile created")
	}
	if len(unused) > 0 {
		kinds = append(kinds, "profile deleted")
	}
	if len(profiles) > 0 {
		kinds = append(kinds, "profile changed")
	}
	if len(others) > 0 {
		kinds = append(kinds, "profile renamed")
	}
	if len(v.assignments) < maxAssignments && len(t.usedTargets(v)) < len(t.groups) {
		kinds = append(kinds, "assignment created")
	}
	if len(assignments) > 0 {
		kinds = append(kinds, "assignment deleted", "assignment changed")
	}
	if len(grouped) > 0 && len(t.usedTargets(v)) < len(t.groups) {
		kinds = append(kinds, "assignment moved")
	}
	kind := kinds[t.rng.IntN(len(kinds))]
	c := k.s.env.Client
	// edited is the object as the edit left it, with the status it had
	// before, for the action log.
	var edited client.Object
	switch kind {
	case "forced pass":
		tenant := &passkeysv1alpha1.EntraTenant{}
		if err = c.Get(ctx, client.ObjectKey{Name: t.name}, tenant); err == nil {
			err = patchObject(ctx, c, tenant, func() {
				metav1.SetMetaDataAnnotation(&tenant.ObjectMeta, passkeysv1alpha1.ReconcileRequestAnnotation, strconv.FormatInt(time.Now().UnixNano(), 10))
			})
		}
		edited = tenant
	case "profile created":
		p := k.newProfile(t, false)
		err, edited = c.Create(ctx, p), p
	case "profile deleted":
		p := unused[t.rng.IntN(len(unused))]
		err, edited = c.Delete(ctx, &p), &p
	case "profile changed":
		p := profiles[t.rng.IntN(len(profiles))]
		err = patchObject(ctx, c, &p, func() {
			before := p.Spec
			for equalProfileSpecs(before, p.Spec) {
				t.randomProfileSpec(&p.Spec)
			}
		})
		edited = &p
	case "profile renamed":
		p := others[t.rng.IntN(len(others))]
		t.serial++
		name := fmt.Sprintf("Soak %s profile %d", t.name, t.serial)
		k.mu.Lock()
		t.everNames[name] = true
		k.mu.Unlock()
		k.logf(t, "renaming %s", describe(t, &p))
		err, edited = patchObject(ctx, c, &p, func() { p.Spec.DisplayName = name }), &p
	case "assignment created":
		if a := k.newAssignment(t, v); a != nil {
			err, edited = c.Create(ctx, a), a
		}
	case "assignment deleted":
		a := assignments[t.rng.IntN(len(assignments))]
		err, edited = c.Delete(ctx, &a), &a
	case "assignment changed":
		a := assignments[t.rng.IntN(len(assignments))]
		err = patchObject(ctx, c, &a, func() {
			switch {
			case a.Spec.Mode == passkeysv1alpha1.AssignmentExclude && len(profiles) > 0:
				setMode(t, &a.Spec, false, profiles)
			case a.Spec.Mode == passkeysv1alpha1.AssignmentExclude:
			case a.Spec.Target.AllUsers == nil && t.rng.IntN(4) == 0:
				setMode(t, &a.Spec, true, nil)
			case t.rng.IntN(2) == 0:
				a.Spec.RegistrationRequired = !a.Spec.RegistrationRequired
			default:
				a.Spec.Profiles = t.randomProfiles(profiles)
			}
		})
		edited = &a
	case "assignment moved":
		a := grouped[t.rng.IntN(len(grouped))]
		target, _ := k.freeTarget(t, t.usedTargets(v), false)
		k.logf(t, "moving %s", describe(t, &a))
		err, edited = patchObject(ctx, c, &a, func() { a.Spec.Target = target }), &a
	}
	if err != nil {
		k.logf(t, "%s failed: %v", kind, err)
		k.editFailed()
		return nil
	}
	if edited != nil {
		k.logf(t, "%s: %s", kind, describe(t, edited))
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rep.resourceEdits[kind]++
	t.triggers = append(t.triggers, time.Now())
	return nil
}

func (k *soak) editFailed() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rep.editsFailed++
}

func equalProfileSpecs(a, b passkeysv1alpha1.PasskeyProfileSpec) bool {
	return slices.Equal(a.PasskeyTypes, b.PasskeyTypes) && a.Attestation == b.Attestation
}

// patchObject applies change to obj with a merge patch: no conflict with
// the operator's own writes (finalizers, status).
func patchObject(ctx context.Context, c client.Client, obj client.Object, change func()) error {
	before := obj.DeepCopyObject().(client.Object)
	change()
	return c.Patch(ctx, obj, client.MergeFrom(before))
}

// portalEdit changes the tenant's policy as an admin in the portal would,
// racing the operator: it adds a profile, an include target or an exclude
// target that no resource declares, or changes a managed profile or
// target (drift, which the operator corrects at its next pass). Like the
// portal, it reads, edits and writes back the collection it changes; the
// write applies only to the version read (If-Match), so it never undoes a
// write it did not see, and is redone when one came in between.
func (k *soak) portalEdit(ctx context.Context, t *soakTenant) error {
	v, err := k.view(ctx, t)
	if err != nil {
		k.editFailed()
		return nil
	}
	for attempt := 0; ; attempt++ {
		policy, err := k.admin.snapshot(t.tenantID)
		if err != nil {
			return err
		}
		kind, body, item := k.drawPortalEdit(t, v, policy.doc, policy.raw)
		status, reply, err := k.admin.call(http.MethodPatch, "/_emulator/tenants/"+t.tenantID+"/fido2",
			http.Header{"If-Match": {strconv.FormatUint(policy.version, 10)}}, body, 0)
		if err != nil {
			return err
		}
		switch {
		case status == http.StatusPreconditionFailed && attempt < 3:
			k.mu.Lock()
			k.rep.portalRetries++
			k.mu.Unlock()
			continue
		case status == http.StatusPreconditionFailed:
			return nil // the operator kept writing; another time
		case status != http.StatusOK:
			k.mu.Lock()
			k.rep.portalRefused++
			k.mu.Unlock()
			fmt.Fprintf(k.opts.out, "%s  portal edit (%s) of %s refused: %d %s\n", time.Now().Format("15:04:05"), kind, t.name, status, bytes.TrimSpace(reply))
			return nil
		}
		var written struct {
			Version uint64 `json:"version"`
		}
		if err := json.Unmarshal(reply, &written); err != nil {
			return fmt.Errorf("portal edit reply %s: %w", reply, err)
		}
		sent, _ := json.Marshal(body)
		k.logf(t, "portal edit, %s, wrote version %d: %s", kind, written.Version, sent)
		k.mu.Lock()
		defer k.mu.Unlock()
		k.rep.portalEdits[kind]++
		// Only Merge promises to keep what no resource declares.
		if item != nil && !t.authoritative {
			item.version, item.at = written.Version, time.Now()
			t.portalItems = append(t.portalItems, *item)
		}
		return nil
	}
}

// drawPortalEdit picks a portal edit the document allows and builds its
// PATCH body from the raw collections, so that it sends back every property
// it read. item is what the edit adds, if anything.
func (k *soak) drawPortalEdit(t *soakTenant, v tenantView, doc emulator.Fido2Document, raw rawCollections) (string, map[string]any, *portalItem) {
	managedNames := map[string]bool{}
	managedDefault := false
	for _, p := range v.liveProfiles() {
		if p.Spec.Default {
			managedDefault = true
		} else {
			managedNames[entraProfileName(p)] = true
		}
	}
	managedTargets := map[string]bool{}
	for _, a := range v.liveAssignments() {
		if a.Spec.Mode != passkeysv1alpha1.AssignmentExclude {
			managedTargets[t.targetID(a.Spec.Target)] = true
		}
	}
	var managedProfiles, managedIncludes []int
	for i, p := range raw.profiles {
		name, _ := p["name"].(string)
		id, _ := p["id"].(string)
		if managedNames[name] || (managedDefault && id == doc.DefaultPasskeyProfile) {
			managedProfiles = append(managedProfiles, i)
		}
	}
	for i, it := range raw.includes {
		if id, _ := it["id"].(string); managedTargets[strings.ToLower(id)] {
			managedIncludes = append(managedIncludes, i)
		}
	}
	kinds := []string{"include target added", "exclude target added"}
	if len(otherProfileNames(doc, v)) < maxOtherProfiles {
		kinds = append(kinds, "profile added")
	}
	if len(managedProfiles) > 0 {
		kinds = append(kinds, "managed profile changed")
	}
	if len(managedIncludes) > 0 {
		kinds = append(kinds, "managed target changed")
	}
	kind := kinds[t.rng.IntN(len(kinds))]
	id := guid(t.rng)
	switch kind {
	case "include target added":
		target := map[string]any{"id": id, "targetType": "group", "isRegistrationRequired": false,
			"allowedPasskeyProfiles": []string{doc.DefaultPasskeyProfile}}
		return kind, map[string]any{"includeTargets": append(raw.includes, target)}, &portalItem{kind: itemIncludeTarget, id: id}
	case "exclude target added":
		target := map[string]any{"id": id, "targetType": "group"}
		return kind, map[string]any{"excludeTargets": append(raw.excludes, target)}, &portalItem{kind: itemExcludeTarget, id: id}
	case "profile added":
		t.serial++
		profile := map[string]any{"id": id, "name": fmt.Sprintf("Portal %s profile %d", t.name, t.serial),
			"passkeyTypes": "deviceBound", "attestationEnforcement": "disabled",
			"keyRestrictions": map[string]any{"isEnforced": false, "enforcementType": "block", "aaGuids": []string{}}}
		return kind, map[string]any{"passkeyProfiles": append(raw.profiles, profile)}, &portalItem{kind: itemProfile, id: id}
	case "managed profile changed":
		p := raw.profiles[managedProfiles[t.rng.IntN(len(managedProfiles))]]
		// Each change is one Entra takes anew: attestation only with
		// device-bound passkeys alone.
		switch types, _ := p["passkeyTypes"].(string); {
		case strings.Contains(types, "synced"):
			p["passkeyTypes"] = "deviceBound"
		case p["attestationEnforcement"] == "registrationOnly":
			p["attestationEnforcement"] = "disabled"
		default:
			p["passkeyTypes"] = "deviceBound,synced"
		}
		return kind, map[string]any{"passkeyProfiles": raw.profiles}, nil
	default:
		it := raw.includes[managedIncludes[t.rng.IntN(len(managedIncludes))]]
		required, _ := it["isRegistrationRequired"].(bool)
		it["isRegistrationRequired"] = !required
		return kind, map[string]any{"includeTargets": raw.includes}, nil
	}
}

// adminClient calls the emulator's admin API over kept-alive connections:
// the soak polls every tenant every few seconds, where a new client per
// call (emulatorAdminRequest) would cost a TLS handshake each time.
type adminClient struct {
	url  string
	http *http.Client
}

func newAdminClient(url, caFile string) (*adminClient, error) {
	tlsConfig, err := emulatorTLS(caFile)
	if err != nil {
		return nil, err
	}
	return &adminClient{url: url, http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: tlsConfig, MaxIdleConnsPerHost: 4},
	}}, nil
}

func (a *adminClient) close() { a.http.CloseIdleConnections() }

// raw sends a body already in JSON and returns the reply; a status of 300
// or more is an error.
func (a *adminClient) raw(method, path string, body []byte) ([]byte, error) {
	status, reply, err := a.send(method, path, nil, bytes.NewReader(body))
	if err == nil && status >= 300 {
		err = fmt.Errorf("%s %s: %s: %s", method, path, http.StatusText(status), bytes.TrimSpace(reply))
	}
	return reply, err
}

// call sends body (JSON, if not nil) and returns the status and the reply.
// With want not 0, any other status is an error.
func (a *adminClient) call(method, path string, header http.Header, body any, want int) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(raw)
	}
	status, reply, err := a.send(method, path, header, r)
	if err == nil && want != 0 && status != want {
		err = fmt.Errorf("%s %s: %d %s: %s", method, path, status, http.StatusText(status), bytes.TrimSpace(reply))
	}
	return status, reply, err
}

// send sends a request; only a failure to get a reply is an error.
func (a *adminClient) send(method, path string, header http.Header, r io.Reader) (int, []byte, error) {
	req, err := http.NewRequest(method, a.url+path, r)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return resp.StatusCode, reply, nil
}

// policySnapshot is a tenant's stored policy at one version: typed, for
// checks, and raw, for portal edits that must send back every property.
type policySnapshot struct {
	version uint64
	doc     emulator.Fido2Document
	raw     rawCollections
}

// rawCollections are a document's collections with every property kept.
type rawCollections struct {
	profiles, includes, excludes []map[string]any
}

// snapshot reads a tenant's stored policy.
func (a *adminClient) snapshot(tenantID string) (policySnapshot, error) {
	_, body, err := a.call(http.MethodGet, "/_emulator/tenants/"+tenantID+"/fido2", nil, nil, http.StatusOK)
	if err != nil {
		return policySnapshot{}, err
	}
	var typed struct {
		Version  uint64                 `json:"version"`
		Document emulator.Fido2Document `json:"document"`
	}
	var raw struct {
		Document struct {
			Profiles []map[string]any `json:"passkeyProfiles"`
			Includes []map[string]any `json:"includeTargets"`
			Excludes []map[string]any `json:"excludeTargets"`
		} `json:"document"`
	}
	if err := json.Unmarshal(body, &typed); err != nil {
		return policySnapshot{}, fmt.Errorf("tenant %s's policy: %w", tenantID, err)
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return policySnapshot{}, fmt.Errorf("tenant %s's policy: %w", tenantID, err)
	}
	return policySnapshot{version: typed.Version, doc: typed.Document,
		raw: rawCollections{raw.Document.Profiles, raw.Document.Includes, raw.Document.Excludes}}, nil
}

// requests reads a tenant's Graph request log.
func (a *adminClient) requests(tenantID string) ([]emulator.RequestRecord, error) {
	var reply struct {
		Requests []emulator.RequestRecord `json:"requests"`
	}
	_, body, err := a.call(http.MethodGet, "/_emulator/tenants/"+tenantID+"/requests", nil, nil, http.StatusOK)
	if err == nil {
		err = json.Unmarshal(body, &reply)
	}
	return reply.Requests, err
}

// describe renders a resource for the action log: its spec, and the status
// that ties it to Entra (the profile id, the applied target).
func describe(t *soakTenant, obj client.Object) string {
	switch o := obj.(type) {
	case *passkeysv1alpha1.PasskeyProfile:
		name := entraProfileName(*o)
		if o.Spec.Default {
			name = "the default profile"
		}
		return fmt.Sprintf("PasskeyProfile %s (%q, %v, %s; status id %q)", o.Name, name, o.Spec.PasskeyTypes, o.Spec.Attestation, o.Status.ProfileID)
	case *passkeysv1alpha1.GroupAssignment:
		applied := "none"
		if a := o.Status.AppliedTarget; a != nil {
			applied = string(a.Mode) + " " + a.GroupID
		}
		return fmt.Sprintf("GroupAssignment %s (%s %s, profiles %v, registration required %v; status applied %s)",
			o.Name, o.Spec.Mode, t.targetID(o.Spec.Target), o.Spec.Profiles, o.Spec.RegistrationRequired, applied)
	case *passkeysv1alpha1.EntraTenant:
		return fmt.Sprintf("EntraTenant %s (%s, requestedAt %s)", o.Name, o.Spec.Management, o.Annotations[passkeysv1alpha1.ReconcileRequestAnnotation])
	}
	return fmt.Sprintf("%T %s", obj, obj.GetName())
}
