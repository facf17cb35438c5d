from services.documents.app import main

main()
