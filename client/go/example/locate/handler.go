package main

import (
	"encoding/json"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"quotad/client/go/quotad"
	"quotad/client/go/quotadpb"
)

// Handler serves GET /v2/nearest/<service> the way locate does: one Acquire
// before an access token is issued, a Refund when it cannot be, 429 with
// Retry-After when quotad refuses.
type Handler struct {
	Quota *quotad.Client
	// TrustedHops: how many X-Forwarded-For entries, from the right, our own
	// load balancers appended (the client is the last of them); 0 uses the
	// connection's address.
	TrustedHops int
	// IssueToken signs the access token for the chosen server; an error
	// refunds the admission.
	IssueToken func(service string) (string, error)
}

type nextRequest struct {
	NotBefore time.Time `json:"nbf"`
}

type reply struct {
	Token       string       `json:"token,omitempty"`
	Error       string       `json:"error,omitempty"`
	NextRequest *nextRequest `json:"next_request,omitempty"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	service := strings.TrimPrefix(r.URL.Path, "/v2/nearest/")
	if service == r.URL.Path || service == "" {
		http.NotFound(w, r)
		return
	}
	req := &quotadpb.AcquireRequest{
		Ip:         h.clientIP(r),
		UserAgent:  r.UserAgent(),
		ClientName: r.URL.Query().Get("client_name"),
		Service:    service,
	}
	d := h.Quota.Decide(r.Context(), req)
	if d.Err != nil {
		log.Printf("quotad gave no answer (%v); %s", d.Err, map[bool]string{true: "failing open", false: "failing closed"}[d.FailedOpen])
	}
	out := reply{}
	if !d.NextRequest.IsZero() {
		out.NextRequest = &nextRequest{NotBefore: d.NextRequest.UTC()}
	}
	status := d.HTTPStatus
	if d.Allowed {
		token, err := h.IssueToken(service)
		if err != nil {
			// Not handed out: give the admission back.
			if _, rerr := h.Quota.Refund(r.Context(), d.RequestID); rerr != nil && !d.FailedOpen {
				log.Printf("refund %s: %v", d.RequestID, rerr)
			}
			status, out.Error = http.StatusInternalServerError, "could not issue a token"
		} else {
			out.Token = token
		}
	} else {
		out.Error = "rate limited: see Retry-After and next_request"
		d.WriteHeaders(w)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

// clientIP: the X-Forwarded-For entry our last trusted hop appended, else
// the connection's address.
func (h *Handler) clientIP(r *http.Request) string {
	if h.TrustedHops > 0 {
		var hops []string
		for _, part := range strings.Split(r.Header.Get("X-Forwarded-For"), ",") {
			if p := strings.TrimSpace(part); p != "" {
				hops = append(hops, p)
			}
		}
		if len(hops) >= h.TrustedHops {
			return hops[len(hops)-h.TrustedHops]
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
