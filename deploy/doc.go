// Package deploy holds the container image, the docker-compose deployment
// and the Kubernetes manifests (kubernetes/, kustomize) of Guildhall. It has
// no Go code of its own: its tests check that the compose file, the
// Dockerfile and every manifest agree with the guildhall binary's commands,
// settings, ports and health checks.
package deploy
