"""Launchers: run `curate` commands where users already run Ray (Kubernetes with KubeRay, ...).

Each launcher module turns a command line and a few resource options into what its scheduler
runs; `k8s` renders KubeRay manifests (pure: nothing is applied from here).
"""
