//go:build tools

// Package tools pins the KWOK controller the lab builds to simulate nodes.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
