"""A real quotad node for the Python tests (tests/envoy, tests/deploy): the
Python counterpart of tests/testing/quotad_process.h.

    with QuotadNode(binary, policy, node_id="n", region="r") as node:
        node.port, node.metrics_port, node.scrape(), node.log_tail()

Starts the node on 127.0.0.1 (kernel-chosen ports for every listener, a
temporary data directory), waits for its port files with a deadline, and
on exit stops it with SIGTERM (SIGKILL after 20 s; `stopped_cleanly` says
which) and removes the directory.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request


class QuotadNode:
    def __init__(self, binary, policy, node_id, region, start_timeout_s=20):
        self.work = tempfile.mkdtemp(prefix="quotad-py-")
        self._log = open(f"{self.work}/node.log", "w")
        self.proc = subprocess.Popen(
            [binary, f"--data_dir={self.work}/data", f"--policy={policy}",
             "--listen=127.0.0.1:0", f"--port_file={self.work}/port",
             "--admin_listen=127.0.0.1:0", "--peer_listen=127.0.0.1:0",
             "--metrics_listen=127.0.0.1:0", f"--metrics_port_file={self.work}/metrics_port",
             f"--node_id={node_id}", f"--region={region}"], stderr=self._log)
        self.stopped_cleanly = None
        try:
            self.port = self._wait_for_port("port", start_timeout_s)
            self.metrics_port = self._wait_for_port("metrics_port", start_timeout_s)
        except Exception:
            self.stop()
            raise

    def _wait_for_port(self, name, timeout_s):
        path = f"{self.work}/{name}"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"quotad exited ({self.proc.returncode}) before writing {name}:"
                                   f"\n{self.log_tail()}")
            if os.path.exists(path) and open(path).read().strip():
                return int(open(path).read())
            time.sleep(0.05)
        raise RuntimeError(f"quotad wrote no {name} file within {timeout_s} s")

    @property
    def target(self):
        return f"127.0.0.1:{self.port}"

    def scrape(self):
        """The /metrics text."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        return urllib.request.urlopen(url, timeout=10).read().decode()

    def log_tail(self, chars=4000):
        self._log.flush()
        return open(f"{self.work}/node.log").read()[-chars:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
                self.stopped_cleanly = True
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.stopped_cleanly = False

    def close(self):
        self.stop()
        self._log.close()
        shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
