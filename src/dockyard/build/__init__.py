"""docker build: Dockerfiles turned into images."""
