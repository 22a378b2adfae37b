module ttrpc-conformance/peers/go

go 1.22

require github.com/containerd/ttrpc v1.2.8
