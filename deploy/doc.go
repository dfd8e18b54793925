// Package deploy holds no Go code of its own: it is where the deployment
// files live (docker-compose.yml, Dockerfile, nats/*.conf, helm/ymera) and
// the test that keeps them in step with the code. README.md explains them.
package deploy
