package quotad

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"quotad/client/go/quotadpb"
)

// Decision is what an HTTP handler does with one Acquire.
type Decision struct {
	// Allowed: issue the access token.
	Allowed bool
	// FailedOpen: quotad gave no answer and the policy is FailOpen.
	FailedOpen bool
	// HTTPStatus: 200 when allowed, 429 when quotad refused, 503 when no
	// answer and the policy is FailClosed.
	HTTPStatus int
	// RetryAfter: how long to wait, in whole seconds rounded up (the
	// Retry-After header); 0 when allowed.
	RetryAfter time.Duration
	// NextRequest: quotad's randomised time for the client's next request
	// (locate's NextRequest); zero when it suggests none. Automated clients
	// must not come back before it.
	NextRequest time.Time
	// RequestID: what to Refund if the token is not handed out.
	RequestID string
	// Response: quotad's answer; nil when there was none.
	Response *quotadpb.AcquireResponse
	// Err: why there was no answer (log it); nil otherwise.
	Err error
}

// Decide runs Acquire and maps its outcome; it never blocks longer than the
// client's timeout, and any error (no answer) becomes the failure policy's
// decision, with Err set.
func (c *Client) Decide(ctx context.Context, req *quotadpb.AcquireRequest) Decision {
	resp, err := c.Acquire(ctx, req)
	d := Decision{RequestID: req.RequestId}
	if err != nil {
		d.Err = err
		if c.opts.Failure == FailOpen {
			d.Allowed, d.FailedOpen, d.HTTPStatus = true, true, http.StatusOK
		} else {
			d.HTTPStatus, d.RetryAfter = http.StatusServiceUnavailable, time.Second
		}
		return d
	}
	d.Response = resp
	d.Allowed = resp.Allowed
	if resp.NextRequest != nil {
		d.NextRequest = resp.NextRequest.AsTime()
	}
	if resp.Allowed {
		d.HTTPStatus = http.StatusOK
		return d
	}
	d.HTTPStatus = http.StatusTooManyRequests
	d.RetryAfter = time.Second
	if resp.RetryAfter != nil {
		secs := math.Ceil(resp.RetryAfter.AsDuration().Seconds())
		if secs > 1 {
			d.RetryAfter = time.Duration(secs) * time.Second
		}
	}
	return d
}

// WriteHeaders sets Retry-After (seconds) on a refusal or a fail-closed
// answer; nothing when allowed.
func (d Decision) WriteHeaders(w http.ResponseWriter) {
	if d.HTTPStatus != http.StatusOK {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(d.RetryAfter/time.Second), 10))
	}
}
