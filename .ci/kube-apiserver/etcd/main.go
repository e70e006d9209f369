// Command etcd is etcd's own server (etcdmain, the entry point of the released etcd binary) at
// the version k8s.io/kubernetes v1.36.3 is tested with, for the real-server test.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
