//go:build tools

// Package tools pins the etcd server the lab builds; the module root of
// go.etcd.io/etcd/server/v3 is the etcd main package.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
