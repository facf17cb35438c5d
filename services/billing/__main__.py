from services.billing.app import main

main()
