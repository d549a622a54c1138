package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
)

// The profile the demo plays with: config/samples/profile-synced-staff.yaml.
const (
	demoProfile     = "synced-staff"
	demoProfileName = "Synced passkeys for staff"
	demoPortalTypes = "deviceBound"
)

// demoDrift shows drift corrected and drift reported, as the README's
// walkthrough does by hand: an admin edits the staff profile in the portal
// under driftPolicy Enforce, then under Report, then the profile goes back
// to Enforce and Git wins again. The status lines and events printed by
// watch show what the operator did; demoDrift narrates.
func (s *stack) demoDrift(ctx context.Context) error {
	say := func(format string, args ...any) {
		fmt.Fprintf(s.out, "\n>>> "+format+"\n\n", args...)
	}
	say("Demo 1/3, driftPolicy Enforce: an admin removes synced passkeys from %q in the Entra portal.", demoProfileName)
	if err := s.portalEdit(); err != nil {
		return err
	}
	if err := s.reconcileNow(ctx, "demo-enforce"); err != nil {
		return err
	}
	s.pause(ctx)
	say("The operator put the profile back (the DriftDetected event above says what it corrected).")

	say("Demo 2/3, driftPolicy Report: the profile switches to Report and the admin makes the same change.")
	if err := s.setDriftPolicy(ctx, passkeysv1alpha1.DriftPolicyReport); err != nil {
		return err
	}
	if err := s.portalEdit(); err != nil {
		return err
	}
	if err := s.reconcileNow(ctx, "demo-report"); err != nil {
		return err
	}
	if err := s.waitProfile(ctx, func(p *passkeysv1alpha1.PasskeyProfile) bool {
		return meta.IsStatusConditionTrue(p.Status.Conditions, passkeysv1alpha1.ConditionDrifted)
	}); err != nil {
		return err
	}
	s.pause(ctx)
	say("Entra keeps the portal's change; the profile is Drifted and status.drift lists the field.")

	say("Demo 3/3: back to driftPolicy Enforce, and Git wins again.")
	if err := s.setDriftPolicy(ctx, passkeysv1alpha1.DriftPolicyEnforce); err != nil {
		return err
	}
	if err := s.waitProfile(ctx, func(p *passkeysv1alpha1.PasskeyProfile) bool {
		return meta.IsStatusConditionTrue(p.Status.Conditions, passkeysv1alpha1.ConditionReady)
	}); err != nil {
		return err
	}
	s.pause(ctx)
	say("Demo done: every sample is Ready again.")
	return nil
}

// pause lets the status display (which polls) show a step's outcome before
// the narration moves on, and a person read it.
func (s *stack) pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(2 * time.Second):
	}
}

func (s *stack) portalEdit() error {
	path := "/_emulator/tenants/" + demoTenantID + "/fido2"
	raw, err := s.emulatorAdmin(http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	body, err := editProfile(raw, demoProfileName, demoPortalTypes, "")
	if err != nil {
		return err
	}
	_, err = s.emulatorAdmin(http.MethodPatch, path, body)
	return err
}

// reconcileNow asks for a pass through the force-reconcile annotation, as
// a person would with kubectl annotate, and waits until it is handled.
func (s *stack) reconcileNow(ctx context.Context, value string) error {
	if err := s.patchProfile(ctx, func(p *passkeysv1alpha1.PasskeyProfile) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[passkeysv1alpha1.ReconcileRequestAnnotation] = value
	}); err != nil {
		return err
	}
	return s.waitProfile(ctx, func(p *passkeysv1alpha1.PasskeyProfile) bool {
		return p.Status.LastHandledReconcileAt == value
	})
}

func (s *stack) setDriftPolicy(ctx context.Context, policy passkeysv1alpha1.DriftPolicy) error {
	var generation int64
	if err := s.patchProfile(ctx, func(p *passkeysv1alpha1.PasskeyProfile) {
		p.Spec.DriftPolicy = policy
		generation = p.Generation + 1
	}); err != nil {
		return err
	}
	return s.waitProfile(ctx, func(p *passkeysv1alpha1.PasskeyProfile) bool {
		return p.Status.ObservedGeneration >= generation
	})
}

func (s *stack) patchProfile(ctx context.Context, change func(*passkeysv1alpha1.PasskeyProfile)) error {
	p := &passkeysv1alpha1.PasskeyProfile{}
	if err := s.env.Client.Get(ctx, client.ObjectKey{Namespace: samplesNamespace, Name: demoProfile}, p); err != nil {
		return fmt.Errorf("reading PasskeyProfile %s: %w", demoProfile, err)
	}
	before := p.DeepCopy()
	change(p)
	if err := s.env.Client.Patch(ctx, p, client.MergeFrom(before)); err != nil {
		return fmt.Errorf("changing PasskeyProfile %s: %w", demoProfile, err)
	}
	return nil
}

// waitProfile polls the demo profile until done says yes, for a minute.
func (s *stack) waitProfile(ctx context.Context, done func(*passkeysv1alpha1.PasskeyProfile) bool) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		p := &passkeysv1alpha1.PasskeyProfile{}
		err := s.env.Client.Get(ctx, client.ObjectKey{Namespace: samplesNamespace, Name: demoProfile}, p)
		if err == nil && done(p) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for PasskeyProfile %s: %w", demoProfile, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
