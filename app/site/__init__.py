"""Site-wide routes that belong to no feature: health checks, favicon, robots.txt and the
sitemap, and the robots meta tag of each page."""
