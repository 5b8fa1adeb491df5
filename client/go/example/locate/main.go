// A runnable locate-style service in front of quotad:
//
//	locate -listen=127.0.0.1:8080 -quotad=127.0.0.1:7000 [-token_file=F] [-ca_file=F] [-fail_closed]
//	curl -H 'User-Agent: ndt7-js/0.0.6' 127.0.0.1:8080/v2/nearest/ndt/ndt7
//
// Each request is one Acquire; the "token" is a placeholder for locate's
// signed access token.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"quotad/client/go/quotad"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "HTTP address to serve")
	target := flag.String("quotad", "127.0.0.1:7000", "quotad quota listener (host:port)")
	tokenFile := flag.String("token_file", "", "bearer token file (a charge principal)")
	caFile := flag.String("ca_file", "", "CA to verify quotad's certificate (TLS); empty: plaintext")
	failClosed := flag.Bool("fail_closed", false, "answer 503 when quotad gives no answer")
	hops := flag.Int("trusted_hops", 0, "X-Forwarded-For entries appended by our own proxies")
	flag.Parse()

	opts := quotad.Options{Target: *target, Timeout: 250 * time.Millisecond}
	if *failClosed {
		opts.Failure = quotad.FailClosed
	}
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			log.Fatalf("-token_file: %v", err)
		}
		opts.Token = strings.TrimSpace(string(b))
	}
	if *caFile != "" {
		tlsConfig, err := quotad.TLSFromCAFile(*caFile)
		if err != nil {
			log.Fatalf("-ca_file: %v", err)
		}
		opts.TLS = tlsConfig
	}
	client, err := quotad.Dial(opts)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	h := &Handler{Quota: client, TrustedHops: *hops, IssueToken: func(service string) (string, error) {
		return fmt.Sprintf("token-for-%s-%s", service, quotad.NewRequestID()[:8]), nil
	}}
	log.Printf("serving /v2/nearest/<service> on %s, quotad at %s", *listen, *target)
	log.Fatal(http.ListenAndServe(*listen, h))
}
