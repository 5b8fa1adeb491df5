package main

// The example handler against the node client/go/test.sh starts.

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"quotad/client/go/quotad"
	"quotad/client/go/quotadpb"
)

// client dials the node client/go/test.sh started.
func client(t *testing.T) *quotad.Client {
	t.Helper()
	target, ca, token := os.Getenv("QUOTAD_TARGET"), os.Getenv("QUOTAD_CA_FILE"), os.Getenv("QUOTAD_TOKEN")
	tlsConfig, err := quotad.TLSFromCAFile(ca)
	if target == "" || token == "" || err != nil {
		t.Fatalf("QUOTAD_TARGET, QUOTAD_CA_FILE (%v) and QUOTAD_TOKEN must name a running node: run client/go/test.sh", err)
	}
	c, err := quotad.Dial(quotad.Options{Target: target, Timeout: 5 * time.Second, Token: token, TLS: tlsConfig})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func get(h http.Handler, xff string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/v2/nearest/ndt/ndt7", nil)
	r.Header.Set("User-Agent", "ndt7-js/0.0.6")
	r.Header.Set("X-Forwarded-For", "10.9.9.9, "+xff) // a spoofed entry, then our proxy's
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestTheHandlerAdmitsFortyThenAnswers429WithRetryAfter(t *testing.T) {
	h := &Handler{Quota: client(t), TrustedHops: 1,
		IssueToken: func(string) (string, error) { return "signed", nil }}
	for i := 0; i < 40; i++ {
		if w := get(h, "192.0.2.90"); w.Code != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, w.Code, w.Body)
		}
	}
	w := get(h, "192.0.2.90")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("41st: %d %v", w.Code, w.Header())
	}
	var out reply
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.NextRequest == nil ||
		!out.NextRequest.NotBefore.After(time.Now()) {
		t.Fatalf("body %s: %v", w.Body, err)
	}
	// Another client behind the same spoofed first entry is not affected.
	if w := get(h, "192.0.2.91"); w.Code != http.StatusOK {
		t.Fatalf("another client: %d", w.Code)
	}
}

func TestATokenThatCannotBeIssuedIsRefunded(t *testing.T) {
	c := client(t)
	h := &Handler{Quota: c, TrustedHops: 1,
		IssueToken: func(string) (string, error) { return "", errors.New("signer down") }}
	if w := get(h, "192.0.2.92"); w.Code != http.StatusInternalServerError {
		t.Fatalf("%d", w.Code)
	}
	resp, err := c.Check(httptest.NewRequest("GET", "/", nil).Context(),
		&quotadpb.AcquireRequest{Ip: "192.0.2.92", UserAgent: "ndt7-js/0.0.6", Service: "ndt/ndt7"})
	if err != nil || resp.Limits[0].Used != 0 {
		t.Fatalf("after the refund: %v %v", resp, err)
	}
}
