"""The officials' console (控制台): a server-rendered web app for county officials that calls the
services' REST APIs with the logged-in official's token (issue 14)."""
