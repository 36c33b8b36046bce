# Sourced by the run and test scripts: one PATH for Go, sbin tools and Go binaries.
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
command -v go >/dev/null && export PATH="$PATH:$(go env GOPATH)/bin"
export CGO_ENABLED=1
