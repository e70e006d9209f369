// Fixture: a terraform-plugin-sdk/v2 resource in the shapes the extractor must read.
package thing

// @SDKResource("aws_thing", name="Thing")
func resourceThing() *schema.Resource {
	return &schema.Resource{
		SchemaFunc: thingSchema,
		CustomizeDiff: customdiff.Sequence(
			customdiff.ForceNewIfChange(names.AttrEngine, engineDowngraded),
		),
	}
}

func thingSchema() map[string]*schema.Schema {
	return map[string]*schema.Schema{
		names.AttrName: {Type: schema.TypeString, Required: true, ForceNew: true},
		names.AttrVPCID: {
			Type:     schema.TypeString,
			Optional: true,
			ForceNew: true,
		},
		names.AttrEngine: {Type: schema.TypeString, Optional: true},
		"size":           {Type: schema.TypeInt, Optional: true, ForceNew: false},
		"import_from": {
			Type:     schema.TypeList,
			MaxItems: 1,
			Optional: true,
			Elem: &schema.Resource{
				Schema: map[string]*schema.Schema{
					"bucket_name": {Type: schema.TypeString, Required: true, ForceNew: true},
					"prefix":      {Type: schema.TypeString, Optional: true},
				},
			},
		},
		"encryption_setting": {
			Type:     schema.TypeList,
			Optional: true,
			ForceNew: true,
			Elem:     encryptionResource(),
		},
		"placement":  placementSchema(),
		"owner_tags": tftags.TagsSchemaForceNew(),
		"tags":       tftags.TagsSchema(),
	}
}

func encryptionResource() *schema.Resource {
	return &schema.Resource{Schema: map[string]*schema.Schema{
		"key": {Type: schema.TypeString, Required: true, ForceNew: true},
	}}
}

func placementSchema() *schema.Schema {
	return &schema.Schema{Type: schema.TypeString, Optional: true, ForceNew: true}
}

// A data source of the same name is not the resource.
// @SDKDataSource("aws_thing", name="Thing")
func dataSourceThing() *schema.Resource {
	return &schema.Resource{Schema: map[string]*schema.Schema{
		"id_only": {Type: schema.TypeString, Optional: true, ForceNew: true},
	}}
}
