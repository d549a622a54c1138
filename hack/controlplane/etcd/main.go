// Command etcd is upstream's etcd server main (go.etcd.io/etcd/server/v3's
// main.go), built from source so envtest needs no downloaded binaries. It is
// its own module so etcd's dependency versions never have to agree with
// k8s.io/kubernetes'.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
