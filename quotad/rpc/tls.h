// TLS for every gRPC surface: credentials from PEM files, checked at start,
// re-read while running; and the names a verified client certificate
// carries.
//
// Files are re-read every kTlsReloadInterval by gRPC's file watcher:
// replacing them rotates certificates without restarting or dropping the
// node (connections already open keep their session; new handshakes use the
// new files). A file that becomes unreadable keeps the last good material.
#ifndef QUOTAD_RPC_TLS_H_
#define QUOTAD_RPC_TLS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace quotad {

inline constexpr absl::Duration kTlsReloadInterval = absl::Seconds(1);

// PEM files; all empty means plaintext.
struct TlsFiles {
  std::string cert_file;  // certificate chain presented to the other side
  std::string key_file;   // its private key
  std::string ca_file;    // the CA that verifies the other side
  bool enabled() const { return !cert_file.empty() || !key_file.empty() || !ca_file.empty(); }
};

// A node's files: all three set, readable, PEM, the key matching the
// certificate and the certificate signed by the CA. Errors: InvalidArgument
// naming the flag ("--tls_key_file: ...").
absl::Status CheckNodeTlsFiles(const TlsFiles& files);
// A client's files: the CA set; cert and key both or neither (mTLS when
// set), checked the same way. Errors: InvalidArgument naming the flag.
absl::Status CheckClientTlsFiles(const TlsFiles& files);

enum class ClientCertificates {
  kOptional,  // verified against the CA when presented (callers with cert_name)
  kRequired,  // a handshake without a certificate signed by the CA fails (peers)
};
// Server credentials for a node's listener (files checked by CheckNodeTlsFiles).
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsFiles& files,
                                                               ClientCertificates client_certs);
// Channel credentials: the server is verified against the CA and must name
// the target host (or, with SetSslTargetNameOverride, the expected name);
// the certificate is presented when set.
std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const TlsFiles& files);

// The DNS and IP subject alternative names of the call's verified client
// certificate; empty on plaintext or without a certificate.
std::vector<std::string> ClientCertificateNames(const grpc::ServerContextBase& context);

}  // namespace quotad

#endif  // QUOTAD_RPC_TLS_H_
