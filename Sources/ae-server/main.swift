print("ae-server")
