// Fixture: attribute-name constants, as terraform-provider-aws's names package has them.
package names

const (
	AttrName   = "name"
	AttrVPCID  = "vpc_id"
	AttrEngine = "engine"
)
