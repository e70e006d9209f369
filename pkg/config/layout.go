package config

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
)

// SubnetLayout is the subnet plan of the VPC: one CIDR per AZ and tier, in AZ order.
type SubnetLayout struct {
	Public   []string
	Private  []string
	Database []string
}

type layoutError struct {
	key, value, allowed string
}

func (e *layoutError) Error() string { return e.key + ": " + e.value + ": " + e.allowed }

func asLayoutError(err error, target **layoutError) bool { return errors.As(err, target) }

// Layout carves the VPC into subnets: private (largest, for pods) first, then public, then
// database, each aligned to its size. Explicit CIDR lists replace the carving for their tier.
// Any overlap or overflow is an error naming the key.
func (n *NetworkConfig) Layout() (SubnetLayout, error) {
	vpc, err := netip.ParsePrefix(n.CIDR)
	if err != nil {
		return SubnetLayout{}, &layoutError{"network.cidr", n.CIDR, "an IPv4 CIDR"}
	}
	count := len(n.AvailabilityZones)
	next := new(big.Int).Set(addrInt(vpc.Addr()))
	end := new(big.Int).Add(addrInt(vpc.Addr()), new(big.Int).Lsh(big.NewInt(1), uint(32-vpc.Bits())))

	tiers := []struct {
		key      string
		bits     int
		explicit []string
		out      *[]string
	}{
		{"network.privateSubnetCidrs", n.PrivateSubnetPrefix, n.PrivateSubnetCIDRs, nil},
		{"network.publicSubnetCidrs", n.PublicSubnetPrefix, n.PublicSubnetCIDRs, nil},
		{"network.databaseSubnetCidrs", n.DatabaseSubnetPrefix, n.DatabaseSubnetCIDRs, nil},
	}
	var layout SubnetLayout
	tiers[0].out, tiers[1].out, tiers[2].out = &layout.Private, &layout.Public, &layout.Database

	var all []netip.Prefix
	var keys []string
	for _, t := range tiers {
		if len(t.explicit) > 0 {
			if len(t.explicit) != count {
				return SubnetLayout{}, &layoutError{t.key, fmt.Sprintf("%q", t.explicit), fmt.Sprintf("exactly one CIDR per availability zone (%d)", count)}
			}
			for i, c := range t.explicit {
				pfx, err := netip.ParsePrefix(c)
				key := fmt.Sprintf("%s[%d]", t.key, i)
				switch {
				case err != nil || pfx.Addr().Is6() || pfx.Masked() != pfx:
					return SubnetLayout{}, &layoutError{key, c, "an IPv4 CIDR with no host bits set"}
				case pfx.Bits() > 28 || pfx.Bits() < vpc.Bits() || !vpc.Contains(pfx.Addr()):
					return SubnetLayout{}, &layoutError{key, c, fmt.Sprintf("a /%d to /28 block inside the VPC %s", vpc.Bits(), vpc)}
				}
				*t.out = append(*t.out, c)
				all, keys = append(all, pfx), append(keys, key)
			}
			continue
		}
		size := new(big.Int).Lsh(big.NewInt(1), uint(32-t.bits))
		for i := 0; i < count; i++ {
			// Align to the subnet size.
			rem := new(big.Int).Mod(next, size)
			if rem.Sign() != 0 {
				next.Add(next, new(big.Int).Sub(size, rem))
			}
			if new(big.Int).Add(next, size).Cmp(end) > 0 {
				return SubnetLayout{}, &layoutError{"network.cidr", n.CIDR, fmt.Sprintf("a VPC large enough for %d /%d private, /%d public and /%d database subnets (too small)", count, n.PrivateSubnetPrefix, n.PublicSubnetPrefix, n.DatabaseSubnetPrefix)}
			}
			pfx := netip.PrefixFrom(intAddr(next), t.bits)
			*t.out = append(*t.out, pfx.String())
			all, keys = append(all, pfx), append(keys, fmt.Sprintf("%s[%d]", t.key, i))
			next.Add(next, size)
		}
	}
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			if all[i].Overlaps(all[j]) {
				return SubnetLayout{}, &layoutError{keys[j], all[j].String(), fmt.Sprintf("a block that does not overlap %s (%s)", keys[i], all[i])}
			}
		}
	}
	return layout, nil
}

func addrInt(a netip.Addr) *big.Int {
	b := a.As4()
	return new(big.Int).SetBytes(b[:])
}

func intAddr(i *big.Int) netip.Addr {
	var b [4]byte
	i.FillBytes(b[:])
	return netip.AddrFrom4(b)
}
