print("fffrun: under construction")
