// Package deploy holds the container image and docker-compose deployment of
// Guildhall. It has no Go code of its own: its test checks that the compose
// file and Dockerfile agree with the guildhall binary's commands and settings.
package deploy
