package mds

import (
	"fmt"
	"testing"
	"time"
)

// A resolution is kept for the next pass; what a caller does with its copy
// changes nothing for the next.
func TestResolveKeepsItsAnswer(t *testing.T) {
	c := New(1, time.Now(), []Model{
		{AAGUID: "cb69481e-8ff7-4039-93ec-0a2729a154a8", Name: "YubiKey 5 Series"},
		{AAGUID: "fa2b99dc-9e39-4257-8f92-4a30d23c4118", Name: "YubiKey 5 Series with NFC"},
	})
	first := c.Resolve("YubiKey 5*")
	first[0].Name = "changed by the caller"
	if again := c.Resolve("yubikey 5*"); len(again) != 2 || again[0].Name != "YubiKey 5 Series" {
		t.Errorf("Resolve again, in another case = %v, want the two models as they are", again)
	}
}

// BenchmarkResolve: a selector against a catalog the size of the
// production BLOB, the first time (a scan) and again (kept).
func BenchmarkResolve(b *testing.B) {
	models := make([]Model, 0, 5000)
	for i := range 5000 {
		models = append(models, Model{AAGUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Name: fmt.Sprintf("Vendor %d Key Model %d with NFC", i%300, i)})
	}
	c := New(1, time.Now(), models)
	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.resolved = nil
			c.Resolve("Vendor 12 *NFC")
		}
	})
	b.Run("again", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Resolve("Vendor 12 *NFC")
		}
	})
}
