// Package quotad calls quotad's QuotaService from Go: the client the locate
// service uses before it issues a server access token.
//
// Every call has a deadline (Options.Timeout); Acquire gives a request a
// random request_id when it has none, so a retry of the same request is a
// replay on any node, not a second charge. Decide applies the caller's
// failure policy when quotad gives no answer and maps the answer to what an
// HTTP handler needs: the status (200, 429, or 503 when failing closed), the
// Retry-After header and the client's next request time.
package quotad

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"quotad/client/go/quotadpb"
)

// FailurePolicy says what Decide answers when quotad cannot: unreachable,
// overloaded, out of time, or refusing the call (a bad token or request).
type FailurePolicy int

const (
	// FailOpen admits the request (locate's choice: an outage of quotad
	// must never stop measurements).
	FailOpen FailurePolicy = iota
	// FailClosed refuses it with 503.
	FailClosed
)

// Options for Dial.
type Options struct {
	// Target is host:port of the quota listener (the nearest region).
	Target string
	// Timeout bounds every call (default 250 ms).
	Timeout time.Duration
	// TLS for the connection; nil means plaintext (development only).
	TLS *tls.Config
	// Token is the caller's bearer token (a principal of the node's
	// --callers_file with the "charge" role); empty sends none.
	Token string
	// Failure is Decide's policy when quotad gives no answer.
	Failure FailurePolicy
}

// Client is safe for concurrent use.
type Client struct {
	conn *grpc.ClientConn
	stub quotadpb.QuotaServiceClient
	opts Options
}

// Dial connects lazily: it fails only on bad options, never because the node
// is down (calls then fail, and Decide applies the failure policy).
func Dial(opts Options) (*Client, error) {
	if opts.Target == "" {
		return nil, errors.New("quotad: Options.Target is required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 250 * time.Millisecond
	}
	dial := []grpc.DialOption{}
	if opts.TLS != nil {
		dial = append(dial, grpc.WithTransportCredentials(credentials.NewTLS(opts.TLS)))
	} else {
		dial = append(dial, grpc.WithInsecure())
	}
	if opts.Token != "" {
		dial = append(dial, grpc.WithPerRPCCredentials(bearer{opts.Token, opts.TLS != nil}))
	}
	conn, err := grpc.Dial(opts.Target, dial...)
	if err != nil {
		return nil, fmt.Errorf("quotad: dial %s: %w", opts.Target, err)
	}
	return &Client{conn: conn, stub: quotadpb.NewQuotaServiceClient(conn), opts: opts}, nil
}

// Close ends the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Acquire decides and, if allowed, charges. A request without a request_id
// gets a random one (set on req, so the caller can Refund it).
func (c *Client) Acquire(ctx context.Context, req *quotadpb.AcquireRequest) (*quotadpb.AcquireResponse, error) {
	if req.RequestId == "" {
		req.RequestId = NewRequestID()
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	return c.stub.Acquire(ctx, req)
}

// Check is Acquire's decision without a charge.
func (c *Client) Check(ctx context.Context, req *quotadpb.AcquireRequest) (*quotadpb.AcquireResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	return c.stub.Check(ctx, req)
}

// Refund gives back an admitted Acquire by its request_id (call it when the
// token it stood for was not handed out).
func (c *Client) Refund(ctx context.Context, requestID string) (*quotadpb.RefundResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	return c.stub.Refund(ctx, &quotadpb.RefundRequest{RequestId: requestID})
}

// TLSFromCAFile returns a TLS configuration that verifies the node's
// certificate against the CA certificates (PEM) in path.
func TLSFromCAFile(path string) (*tls.Config, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("quotad: CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("quotad: CA file %s: no PEM certificate", path)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// NewRequestID returns 128 random bits in hex.
func NewRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("quotad: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// bearer sends "authorization: Bearer <token>" with every call.
type bearer struct {
	token      string
	requireTLS bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.requireTLS }
