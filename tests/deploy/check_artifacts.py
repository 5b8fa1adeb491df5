#!/usr/bin/python3
"""Checks deploy artifacts against the code that runs them (run by ctest).

  check_artifacts.py k8s <quotad-binary>
      deploy/k8s: every manifest parses; the StatefulSet, Services and PDB
      agree (service name, selectors, ports); probes, resources, non-root,
      a persistent data volume; every quotad flag exists in the binary; the
      cluster-wide peer list parses and names every node of every overlay.
  check_artifacts.py docker <quotad-binary> <quotactl-binary>
      deploy/docker/Dockerfile: multi-stage on Debian bookworm, a non-root
      user, the data dir a volume, entrypoint flags that exist, and runtime
      packages that provide every shared library the binaries load.
  check_artifacts.py systemd-flags <quotad-binary>
      deploy/systemd/quotad.service: every quotad flag exists.
Uses Debian's python3-yaml (deploy/install-deps.sh).
"""
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAILURES = []


def check(cond, message):
    if not cond:
        FAILURES.append(message)


def quotad_flags(binary):
    out = subprocess.run([binary, "--helpfull"], capture_output=True, text=True).stdout
    return set(re.findall(r"^\s+--([a-z_0-9]+) ", out, re.M))


def check_flags(args, flags, where):
    for arg in args:
        m = re.match(r"--([a-z_0-9]+)(=|$)", arg)
        check(m is not None, f"{where}: '{arg}' is not a --flag")
        if m:
            check(m.group(1) in flags, f"{where}: quotad has no flag --{m.group(1)}")


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def k8s(binary):
    flags = quotad_flags(binary)
    base = os.path.join(ROOT, "deploy/k8s/base")
    kust = load(os.path.join(base, "kustomization.yaml"))[0]
    docs = []
    for res in kust["resources"]:
        docs += load(os.path.join(base, res))
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    sts = by_kind["StatefulSet"][0]
    services = {s["metadata"]["name"]: s for s in by_kind["Service"]}
    pdb = by_kind["PodDisruptionBudget"][0]
    spec = sts["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    check(spec["selector"]["matchLabels"].items() <= labels.items(), "StatefulSet selector vs pod labels")
    headless = services.get(spec["serviceName"])
    check(headless is not None and headless["spec"].get("clusterIP") == "None",
          "serviceName must name a headless Service")
    check(pdb["spec"]["selector"]["matchLabels"].items() <= labels.items(), "PDB selector vs pod labels")
    check(pod["securityContext"].get("runAsNonRoot") is True, "pods must run as non-root")
    (c,) = pod["containers"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    for svc in services.values():
        for p in svc["spec"]["ports"]:
            check(p["targetPort"] in ports, f"Service {svc['metadata']['name']} targets unknown port {p['targetPort']}")
    for probe in ("readinessProbe", "livenessProbe"):
        check(c.get(probe, {}).get("grpc", {}).get("port") == ports.get("quota"),
              f"{probe} must be the gRPC health check on the quota port")
    check("cpu" in c["resources"]["requests"] and "memory" in c["resources"]["requests"],
          "resource requests for cpu and memory")
    sc = c["securityContext"]
    check(sc.get("allowPrivilegeEscalation") is False and sc.get("readOnlyRootFilesystem") is True,
          "container: no privilege escalation, read-only root")
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    claims = [t["metadata"]["name"] for t in spec["volumeClaimTemplates"]]
    check(mounts.get("data") == "/var/lib/quotad" and "data" in claims,
          "the data dir must be a PersistentVolume at /var/lib/quotad")
    check_flags(c["args"], flags, "StatefulSet args")
    args = dict(a[2:].split("=", 1) for a in c["args"])
    check(args.get("policy", "").startswith(mounts.get("policy", "?")), "--policy is in the policy volume")
    check(args.get("policy_reload_interval", "0") != "0", "the policy ConfigMap is reloaded")
    # Peers: one cluster-wide list naming every node of every overlay.
    literals = dict(l.split("=", 1) for g in kust["configMapGenerator"] for l in g["literals"])
    peers = {}
    for entry in literals["peers"].split(","):
        node, _, address = entry.partition("=")
        check(re.fullmatch(r"[^:]+:\d+", address) is not None, f"peer {node}: '{address}' is not host:port")
        check(node not in peers, f"peer {node} listed twice")
        peers[node] = address
    overlays = os.path.join(ROOT, "deploy/k8s/overlays")
    for region in sorted(os.listdir(overlays)):
        o = load(os.path.join(overlays, region, "kustomization.yaml"))[0]
        check(o.get("resources") == ["../../base"], f"overlay {region} builds on base")
        check(o.get("namespace"), f"overlay {region} sets a namespace")
        prefix = o.get("namePrefix", "")
        check(prefix, f"overlay {region} sets a namePrefix (node ids are pod names)")
        lits = dict(l.split("=", 1) for g in o["configMapGenerator"] for l in g["literals"])
        check(lits.get("region") == region, f"overlay {region} names its region")
        for i in range(spec["replicas"]):
            node = f"{prefix}{sts['metadata']['name']}-{i}"
            check(node in peers, f"peers list lacks {node} (overlay {region})")


SLIM_BASE = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1", "liblz4-1", "libbz2-1.0"}


def runtime_packages(binaries):
    libs = set()
    for b in binaries:
        out = subprocess.run(["ldd", b], capture_output=True, text=True, check=True).stdout
        libs.update(re.findall(r"=> (\S+) \(", out))
    # One dpkg query for every library, by its path and its resolved path
    # (merged /usr: dpkg may know either).
    paths = sorted(libs | {os.path.realpath(l) for l in libs})
    out = subprocess.run(["dpkg", "-S"] + paths, capture_output=True, text=True).stdout
    owners = {}
    for line in out.splitlines():
        package, _, path = line.partition(": ")
        owners[path.strip()] = package.split(":")[0]
    packages = set()
    for lib in sorted(libs):
        owner = owners.get(lib) or owners.get(os.path.realpath(lib))
        check(owner is not None, f"no Debian package owns {lib}")
        if owner:
            packages.add(owner)
    return packages


def docker(quotad, quotactl):
    text = open(os.path.join(ROOT, "deploy/docker/Dockerfile")).read()
    joined = re.sub(r"\\\n", " ", text)
    stages = re.split(r"^FROM ", joined, flags=re.M)[1:]
    check(len(stages) >= 2, "multi-stage build")
    for s in stages:
        check(s.startswith("debian:bookworm"), f"stage on Debian bookworm: FROM {s.split()[0]}")
    final = stages[-1]
    user = re.findall(r"^USER (\S+)", final, re.M)
    check(user and user[-1].split(":")[0] not in ("0", "root"), "the final stage runs as a non-root USER")
    check(re.search(r'^VOLUME \["/var/lib/quotad"\]', final, re.M) is not None, "the data dir is a VOLUME")
    m = re.search(r"^ENTRYPOINT (\[.*\])", final, re.M)
    check(m is not None, "an ENTRYPOINT")
    if m:
        entry = yaml.safe_load(m.group(1))
        check(entry[0] == "/usr/local/bin/quotad", "the entrypoint is quotad")
        check_flags(entry[1:], quotad_flags(quotad), "ENTRYPOINT")
    installed = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", " ".join(re.findall(r"apt-get install -y --no-install-recommends ([^&]+)", final))))
    missing = runtime_packages([quotad, quotactl]) - installed - SLIM_BASE
    check(not missing, f"runtime stage lacks packages for the binaries' libraries: {sorted(missing)}")


def systemd_flags(binary):
    text = open(os.path.join(ROOT, "deploy/systemd/quotad.service")).read()
    exec_start = re.search(r"^ExecStart=(.*?)(?<!\\)$", text, re.M | re.S).group(1)
    args = [a for a in re.sub(r"\\\n", " ", exec_start).split()[1:] if not a.startswith("$")]
    check_flags(args, quotad_flags(binary), "quotad.service ExecStart")


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "k8s":
        k8s(sys.argv[2])
    elif what == "docker":
        docker(sys.argv[2], sys.argv[3])
    elif what == "systemd-flags":
        systemd_flags(sys.argv[2])
    else:
        print(__doc__)
        return 2
    for f in FAILURES:
        print("FAIL:", f)
    if not FAILURES:
        print(f"{what}: ok")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
