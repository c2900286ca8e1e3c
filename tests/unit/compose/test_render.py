"""``compose config`` output: the shape docker compose prints."""

from __future__ import annotations

import textwrap
from pathlib import Path

from dockyard.compose import render_config

from .conftest import Load, Write


def test_render_matches_compose_layout(write: Write, load: Load, tmp_path: Path) -> None:
    write("compose.yaml", """
        services:
          web:
            image: nginx
            ports: ["8080:80", "127.0.0.1::443/udp", "9000"]
            volumes: ["data:/data", "./site:/usr/share/nginx/html:ro", "/cache"]
            environment: [B=2, A=1]
            depends_on: [db]
            healthcheck: {test: "curl -f localhost", interval: 90s, retries: 3}
            stop_grace_period: 1m
          db:
            image: postgres
            networks: {back: {aliases: [database]}}
        networks:
          back: {}
        volumes:
          data:
    """)
    expected = textwrap.dedent(f"""\
        name: demo
        services:
          db:
            image: postgres
            networks:
              back:
                aliases:
                  - database
          web:
            depends_on:
              db:
                condition: service_started
                required: true
            environment:
              A: "1"
              B: "2"
            healthcheck:
              test:
                - CMD-SHELL
                - curl -f localhost
              interval: 1m30s
              retries: 3
            image: nginx
            networks:
              default: null
            ports:
              - mode: ingress
                target: 80
                published: "8080"
                protocol: tcp
              - mode: ingress
                host_ip: 127.0.0.1
                target: 443
                protocol: udp
              - mode: ingress
                target: 9000
                protocol: tcp
            stop_grace_period: 1m0s
            volumes:
              - type: volume
                source: data
                target: /data
                volume: {{}}
              - type: bind
                source: {tmp_path}/site
                target: /usr/share/nginx/html
                read_only: true
                bind:
                  create_host_path: true
              - type: volume
                target: /cache
                volume: {{}}
        networks:
          back:
            name: demo_back
          default:
            name: demo_default
        volumes:
          data:
            name: demo_data
    """)
    assert render_config(load(project_name="demo")) == expected
