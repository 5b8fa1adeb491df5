// quotactl's admin commands: calls to the node's AdminService (its admin
// listener, --target=HOST:ADMIN_PORT) with the admin bearer token
// (--admin-token-file, else --token_file). Each returns quotactl's exit code;
// `--json` prints the response as JSON.
#ifndef QUOTAD_CLIENT_QUOTACTL_ADMIN_H_
#define QUOTAD_CLIENT_QUOTACTL_ADMIN_H_

#include <string>

namespace quotad::quotactl {

// Exactly one match flag: --ip, --prefix, --client-name, --integration-id,
// --user-agent (a regex).
inline constexpr char kMatchFlags[] =
    "one of --ip, --prefix=CIDR, --client-name, --integration-id, --user-agent=REGEX";

int SetOverride(const std::string& tier);
int DeleteOverride(const std::string& id);
int ListOverrides(const std::string& tier);
int Unban();
int RunUsage();
int RunReset();
int RunPolicy(bool reload);
int RunClusterStatus();
int RunStats();
// One integration's (--integration) or tier's (--tier) units per UTC day,
// per region: --from, --to (default the last 30 days), --csv or --json.
int RunReport();
int RunAudit();

}  // namespace quotad::quotactl

#endif  // QUOTAD_CLIENT_QUOTACTL_ADMIN_H_
