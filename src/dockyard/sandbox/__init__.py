"""Per-sandbox files: /etc/hosts, /etc/hostname, /etc/resolv.conf (rendered, pure)."""
