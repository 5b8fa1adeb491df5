#include "quotad/rpc/tls.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace quotad {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

std::unique_ptr<BIO, decltype(&BIO_free)> OpenFile(const std::string& path) {
  return {BIO_new_file(path.c_str(), "r"), &BIO_free};
}

absl::StatusOr<X509Ptr> ReadCertificate(const std::string& flag, const std::string& path) {
  auto bio = OpenFile(path);
  if (bio == nullptr) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": ", path, " holds no PEM certificate"));
  }
  return cert;
}

absl::StatusOr<KeyPtr> ReadKey(const std::string& flag, const std::string& path) {
  auto bio = OpenFile(path);
  if (bio == nullptr) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": ", path, " holds no PEM private key"));
  }
  return key;
}

// The pair matches and the certificate is signed by the CA.
absl::Status CheckPair(const TlsFiles& files, const std::string& cert_flag,
                       const std::string& key_flag) {
  auto cert = ReadCertificate(cert_flag, files.cert_file);
  if (!cert.ok()) return cert.status();
  auto key = ReadKey(key_flag, files.key_file);
  if (!key.ok()) return key.status();
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(key_flag, ": ", files.key_file, " is not the key of ", files.cert_file));
  }
  auto ca = ReadCertificate("--tls_ca_file", files.ca_file);
  if (!ca.ok()) return ca.status();
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(),
                                                                 &X509_STORE_free);
  X509_STORE_add_cert(store.get(), ca->get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      &X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), cert->get(), nullptr);
  if (X509_verify_cert(ctx.get()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(cert_flag, ": ", files.cert_file, " is not signed by the CA in ",
                     files.ca_file, " (", X509_verify_cert_error_string(
                                              X509_STORE_CTX_get_error(ctx.get())),
                     ")"));
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> Provider(
    const TlsFiles& files) {
  const auto interval = static_cast<unsigned int>(absl::ToInt64Seconds(kTlsReloadInterval));
  if (files.cert_file.empty()) {
    return std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(files.ca_file,
                                                                                 interval);
  }
  return std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key_file, files.cert_file, files.ca_file, interval);
}

}  // namespace

absl::Status CheckNodeTlsFiles(const TlsFiles& files) {
  if (files.cert_file.empty()) return absl::InvalidArgumentError("--tls_cert_file: required for TLS");
  if (files.key_file.empty()) return absl::InvalidArgumentError("--tls_key_file: required for TLS");
  if (files.ca_file.empty()) return absl::InvalidArgumentError("--tls_ca_file: required for TLS");
  return CheckPair(files, "--tls_cert_file", "--tls_key_file");
}

absl::Status CheckClientTlsFiles(const TlsFiles& files) {
  if (files.ca_file.empty()) return absl::InvalidArgumentError("--tls_ca_file: required for TLS");
  if (files.cert_file.empty() != files.key_file.empty()) {
    return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file: give both or neither");
  }
  if (files.cert_file.empty()) return ReadCertificate("--tls_ca_file", files.ca_file).status();
  return CheckPair(files, "--tls_cert_file", "--tls_key_file");
}

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsFiles& files,
                                                               ClientCertificates client_certs) {
  grpc::experimental::TlsServerCredentialsOptions options(Provider(files));
  options.watch_identity_key_cert_pairs();
  options.watch_root_certs();
  options.set_cert_request_type(client_certs == ClientCertificates::kRequired
                                    ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                    : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  return grpc::experimental::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const TlsFiles& files) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(Provider(files));
  options.watch_root_certs();
  if (!files.cert_file.empty()) options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  options.set_certificate_verifier(
      std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

std::vector<std::string> ClientCertificateNames(const grpc::ServerContextBase& context) {
  std::vector<std::string> names;
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return names;
  for (const grpc::string_ref& name : auth->FindPropertyValues("x509_subject_alternative_name")) {
    names.emplace_back(name.data(), name.size());
  }
  return names;
}

}  // namespace quotad
