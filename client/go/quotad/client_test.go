package quotad

// Against a real node started by client/go/test.sh (TLS, a callers file
// with a "charge" token): QUOTAD_TARGET, QUOTAD_CA_FILE, QUOTAD_TOKEN.

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"quotad/client/go/quotadpb"
)

func nodeOptions(t *testing.T) Options {
	t.Helper()
	target, ca, token := os.Getenv("QUOTAD_TARGET"), os.Getenv("QUOTAD_CA_FILE"), os.Getenv("QUOTAD_TOKEN")
	if target == "" || ca == "" || token == "" {
		t.Fatal("QUOTAD_TARGET, QUOTAD_CA_FILE and QUOTAD_TOKEN must name a running node: run client/go/test.sh")
	}
	tlsConfig, err := TLSFromCAFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	return Options{Target: target, Timeout: 5 * time.Second, Token: token, TLS: tlsConfig}
}

func dial(t *testing.T, opts Options) *Client {
	t.Helper()
	c, err := Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestFortyAdmittedThenTooManyRequestsWithRetryAfterAndNextRequest(t *testing.T) {
	c := dial(t, nodeOptions(t))
	req := func() *quotadpb.AcquireRequest {
		return &quotadpb.AcquireRequest{Ip: "198.51.100.40", UserAgent: "ndt7-js/0.0.6", Service: "ndt/ndt7"}
	}
	for i := 0; i < 40; i++ {
		d := c.Decide(context.Background(), req())
		if !d.Allowed || d.HTTPStatus != http.StatusOK || d.Err != nil || d.RequestID == "" {
			t.Fatalf("call %d: %+v", i, d)
		}
	}
	d := c.Decide(context.Background(), req())
	if d.Allowed || d.HTTPStatus != http.StatusTooManyRequests || d.Err != nil {
		t.Fatalf("41st: %+v", d)
	}
	if d.Response.Reason != quotadpb.Reason_REASON_DAILY_LIMIT {
		t.Errorf("reason %v", d.Response.Reason)
	}
	if d.RetryAfter < time.Second || d.RetryAfter%time.Second != 0 {
		t.Errorf("RetryAfter %v: whole seconds, at least one", d.RetryAfter)
	}
	if !d.NextRequest.After(time.Now()) {
		t.Errorf("NextRequest %v is not in the future", d.NextRequest)
	}
	w := httptest.NewRecorder()
	d.WriteHeaders(w)
	if w.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After header")
	}
}

func TestARetryWithTheSameRequestIDIsAReplayAndRefundGivesItBack(t *testing.T) {
	c := dial(t, nodeOptions(t))
	req := &quotadpb.AcquireRequest{Ip: "198.51.100.41", UserAgent: "x/1"}
	first, err := c.Acquire(context.Background(), req)
	if err != nil || !first.Allowed {
		t.Fatalf("%v %v", first, err)
	}
	if len(req.RequestId) != 32 {
		t.Fatalf("request_id %q: want 32 hex digits", req.RequestId)
	}
	again, err := c.Acquire(context.Background(), req)
	if err != nil || !again.Replayed {
		t.Fatalf("replay: %v %v", again, err)
	}
	refund, err := c.Refund(context.Background(), req.RequestId)
	if err != nil || !refund.Refunded {
		t.Fatalf("refund: %v %v", refund, err)
	}
	check, err := c.Check(context.Background(), &quotadpb.AcquireRequest{Ip: "198.51.100.41", UserAgent: "x/1"})
	if err != nil || check.Limits[0].Used != 0 {
		t.Fatalf("after the refund: %v %v", check, err)
	}
}

func TestWithoutTheTokenTheNodeRefusesAndDecideAppliesThePolicy(t *testing.T) {
	opts := nodeOptions(t)
	opts.Token = ""
	opts.Failure = FailClosed
	c := dial(t, opts)
	_, err := c.Acquire(context.Background(), &quotadpb.AcquireRequest{Ip: "198.51.100.42"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("want UNAUTHENTICATED, got %v", err)
	}
	d := c.Decide(context.Background(), &quotadpb.AcquireRequest{Ip: "198.51.100.42"})
	if d.Allowed || d.HTTPStatus != http.StatusServiceUnavailable || d.Err == nil {
		t.Fatalf("%+v", d)
	}
}

func TestAnUnreachableNodeFailsOpenOrClosedWithinTheTimeout(t *testing.T) {
	// A port that was just free: nothing listens on it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := l.Addr().String()
	l.Close()
	for _, policy := range []FailurePolicy{FailOpen, FailClosed} {
		c := dial(t, Options{Target: target, Timeout: 200 * time.Millisecond, Failure: policy})
		start := time.Now()
		d := c.Decide(context.Background(), &quotadpb.AcquireRequest{Ip: "198.51.100.43"})
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("policy %v: took %v", policy, took)
		}
		if d.Err == nil || d.Response != nil {
			t.Errorf("policy %v: %+v", policy, d)
		}
		if policy == FailOpen && (!d.Allowed || !d.FailedOpen || d.HTTPStatus != http.StatusOK) {
			t.Errorf("fail open: %+v", d)
		}
		if policy == FailClosed && (d.Allowed || d.HTTPStatus != http.StatusServiceUnavailable) {
			t.Errorf("fail closed: %+v", d)
		}
	}
}

func TestDialRefusesAnEmptyTarget(t *testing.T) {
	if _, err := Dial(Options{}); err == nil {
		t.Fatal("no error")
	}
}
