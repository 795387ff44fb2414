"""The Terraform front end: .tf, .tf.json and plans read, translated for the core, judged, located and fixed."""
